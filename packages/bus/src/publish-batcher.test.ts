import { describe, expect, it } from "vitest";
import { createPublishBatcher, groupByTopic, type TopicBatch } from "./publish-batcher";
import type { BusMessage } from "./types";
import { gate } from "./wait";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const message = (key: string, value: string): BusMessage => ({ key, value: encoder.encode(value) });
const valuesOf = (batch: readonly TopicBatch[]) =>
  batch.map(({ topic, messages }) => `${topic}: ${messages.map((m) => decoder.decode(m.value)).join(" ")}`);

/** A fake producer that records every request and lets the test decide when (and how) each is answered. */
function recordingProducer() {
  const requests: { batch: readonly TopicBatch[]; answer: (error?: Error) => void }[] = [];
  const send = (batch: readonly TopicBatch[]) =>
    new Promise<void>((resolve, reject) => {
      requests.push({ batch, answer: (error) => (error ? reject(error) : resolve()) });
    });
  return { requests, send };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("publish batcher", () => {
  it("sends the publishes of one turn as one request, and each waits for that request's acknowledgement", async () => {
    const producer = recordingProducer();
    const batcher = createPublishBatcher(producer.send);
    let settled = 0;
    const publishes = [
      batcher.publish("a", [message("k1", "1")]),
      batcher.publish("b", [message("k2", "2")]),
      batcher.publish("a", [message("k1", "3"), message("k3", "4")]),
    ].map((publish) => publish.then(() => settled++));
    await nextTurn();
    expect(producer.requests).toHaveLength(1);
    expect(valuesOf(producer.requests[0]?.batch ?? [])).toEqual(["a: 1 3 4", "b: 2"]);
    await nextTurn();
    expect(settled).toBe(0);
    producer.requests[0]?.answer();
    await Promise.all(publishes);
    expect(settled).toBe(3);
  });

  it("collects the publishes made while a request is in flight and sends them next, in arrival order", async () => {
    const producer = recordingProducer();
    const batcher = createPublishBatcher(producer.send);
    const first = batcher.publish("t", [message("k", "1")]);
    await nextTurn();
    const later = [
      batcher.publish("t", [message("k", "2")]),
      batcher.publish("t", [message("other", "x")]),
      batcher.publish("t", [message("k", "3")]),
    ];
    await nextTurn();
    // One request at a time: the second waits for the first's answer.
    expect(producer.requests).toHaveLength(1);
    producer.requests[0]?.answer();
    await first;
    await nextTurn();
    expect(producer.requests).toHaveLength(2);
    expect(valuesOf(producer.requests[1]?.batch ?? [])).toEqual(["t: 2 x 3"]);
    producer.requests[1]?.answer();
    await Promise.all(later);
  });

  it("rejects every publish of a failed request with its error, and still sends the next batch", async () => {
    const producer = recordingProducer();
    const batcher = createPublishBatcher(producer.send);
    const failing = [batcher.publish("t", [message("a", "1")]), batcher.publish("u", [message("b", "2")])];
    await nextTurn();
    const afterwards = batcher.publish("t", [message("a", "3")]);
    const brokerError = new Error("NOT_ENOUGH_REPLICAS");
    producer.requests[0]?.answer(brokerError);
    for (const publish of failing) await expect(publish).rejects.toBe(brokerError);
    await nextTurn();
    expect(valuesOf(producer.requests[1]?.batch ?? [])).toEqual(["t: 3"]);
    producer.requests[1]?.answer();
    await expect(afterwards).resolves.toBeUndefined();
  });

  it("keeps batches within the record and byte limits, never splitting one publish", async () => {
    const producer = recordingProducer();
    const batcher = createPublishBatcher(producer.send, { maxRecords: 3, maxBytes: 1_000 });
    const publishes = [
      batcher.publish("t", [message("k", "1"), message("k", "2")]),
      batcher.publish("t", [message("k", "3"), message("k", "4")]),
      batcher.publish("t", [message("k", "5"), message("k", "6"), message("k", "7"), message("k", "8")]),
      batcher.publish("t", [message("k", "y".repeat(600))]),
      batcher.publish("t", [message("k", "z".repeat(600))]),
    ];
    for (let sent = 0; sent < 5; sent++) {
      await nextTurn();
      expect(producer.requests).toHaveLength(sent + 1);
      producer.requests[sent]?.answer();
      await nextTurn();
    }
    await Promise.all(publishes);
    const sizes = producer.requests.map(({ batch }) => batch.flatMap((topic) => topic.messages).length);
    // 2 (+2 would exceed 3 records), 2, 4 (alone, larger than the limit), 1, 1 (600 + 600 bytes > 1,000).
    expect(sizes).toEqual([2, 2, 4, 1, 1]);
    const order = producer.requests
      .flatMap(({ batch }) => batch.flatMap((topic) => topic.messages))
      .map((m) => decoder.decode(m.value).slice(0, 1));
    expect(order).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "y", "z"]);
  });

  it("drain waits until every queued publish was answered", async () => {
    const answered = gate();
    const sent: string[] = [];
    const batcher = createPublishBatcher(async (batch) => {
      await answered.promise;
      sent.push(...valuesOf(batch));
    });
    await batcher.drain();
    const publish = batcher.publish("t", [message("k", "1")]);
    let drained = false;
    const draining = batcher.drain().then(() => {
      drained = true;
    });
    await nextTurn();
    expect(drained).toBe(false);
    answered.open();
    await draining;
    expect(sent).toEqual(["t: 1"]);
    await expect(publish).resolves.toBeUndefined();
  });

  it("does not send an empty publish", async () => {
    const producer = recordingProducer();
    const batcher = createPublishBatcher(producer.send);
    await batcher.publish("t", []);
    await nextTurn();
    expect(producer.requests).toHaveLength(0);
  });

  it("groups records by topic in arrival order", () => {
    expect(
      valuesOf(
        groupByTopic([
          { topic: "b", messages: [message("k", "1")] },
          { topic: "a", messages: [message("k", "2")] },
          { topic: "b", messages: [message("k", "3")] },
        ]),
      ),
    ).toEqual(["b: 1 3", "a: 2"]);
  });
});
