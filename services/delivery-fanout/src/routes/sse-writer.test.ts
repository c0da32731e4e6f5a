import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { SseWriter } from "./sse-writer.js";

/** A sink that takes chunks only when the test says so, like a socket whose client stopped reading. */
function slowSink(highWaterMark: number) {
  const taken: string[] = [];
  const waiting: Array<() => void> = [];
  const sink = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      taken.push(chunk);
      waiting.push(done);
    },
  });
  return {
    sink,
    taken,
    /** The client reads everything written so far. */
    readAll() {
      for (const done of waiting.splice(0)) done();
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("SseWriter", () => {
  it("waits for the client to take what was written before it sends more", async () => {
    const { sink, taken, readAll } = slowSink(16);
    const writer = new SseWriter(sink);
    let handedOver = false;
    const first = writer.event({ id: "1", event: "activity", data: "x".repeat(40) }).then((sent) => {
      handedOver = sent;
    });
    await tick();
    // Beyond the sink's buffer: the event is written but the writer waits for the drain.
    expect(taken).toHaveLength(1);
    expect(handedOver).toBe(false);
    readAll();
    await first;
    expect(handedOver).toBe(true);
    expect(taken[0]).toBe(`id: 1\nevent: activity\ndata: ${"x".repeat(40)}\n\n`);
  });

  it("drops heartbeats while the client is behind, and sends them once it caught up", async () => {
    const { sink, taken, readAll } = slowSink(16);
    const writer = new SseWriter(sink);
    void writer.write("y".repeat(40));
    writer.comment("keep-alive");
    await tick();
    expect(taken).toEqual(["y".repeat(40)]);
    readAll();
    await tick();
    writer.comment("keep-alive");
    await tick();
    expect(taken).toEqual(["y".repeat(40), ": keep-alive\n\n"]);
  });

  it("answers false once the stream closed, also to a write waiting for a drain", async () => {
    const { sink } = slowSink(16);
    const writer = new SseWriter(sink);
    const waiting = writer.write("z".repeat(40));
    sink.destroy();
    expect(await waiting).toBe(false);
    expect(writer.closed).toBe(true);
    expect(await writer.event({ id: "2", event: "activity", data: "{}" })).toBe(false);
  });

  it("writes a large event a chunk at a time, holding at most the buffer plus one chunk", async () => {
    const { sink, taken, readAll } = slowSink(16);
    const writer = new SseWriter(sink, { chunkBytes: 8, stallTimeoutMs: 60_000 });
    const data = "d".repeat(1_000);
    let handedOver: boolean | undefined;
    const sent = writer.event({ id: "3", event: "activity", data }).then((result) => {
      handedOver = result;
    });
    for (let round = 0; round < 1_000 && handedOver === undefined; round++) {
      await tick();
      expect(writer.bufferedBytes).toBeLessThanOrEqual(16 + 8);
      readAll();
    }
    await sent;
    expect(handedOver).toBe(true);
    expect(taken.join("")).toBe(`id: 3\nevent: activity\ndata: ${data}\n\n`);
  });

  it("gives up on a client that takes nothing for the stall timeout, and says why when closing", async () => {
    const { sink, taken } = slowSink(16);
    let destroyed = false;
    sink.on("close", () => {
      destroyed = true;
    });
    const writer = new SseWriter(sink, { chunkBytes: 1024, stallTimeoutMs: 30 });
    expect(await writer.write("w".repeat(40))).toBe(false);
    expect(writer.stalled).toBe(true);
    expect(await writer.event({ id: "4", event: "activity", data: "{}" })).toBe(false);
    writer.close("behind");
    expect(writer.closed).toBe(true);
    // The closing event is queued behind what the client never took; the socket is dropped after the timeout.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(destroyed).toBe(true);
    expect(taken).toEqual(["w".repeat(40)]);
  });

  it("ends with a closed event naming the reason", async () => {
    const { sink, taken, readAll } = slowSink(1024);
    const writer = new SseWriter(sink, { chunkBytes: 1024, stallTimeoutMs: 60_000 });
    writer.close("idle");
    readAll();
    await tick();
    readAll();
    await tick();
    expect(taken.join("")).toBe('event: closed\ndata: {"reason":"idle"}\n\n');
    expect(sink.writableEnded).toBe(true);
  });
});
