import { describe, expect, it } from "vitest";
import { pendingOutcome } from "./handler-answers";
import {
  type BatchPorts,
  DEFAULT_COMMIT_EVERY_RECORDS,
  type FetchedHeaders,
  type FetchedMessage,
  PartitionBatchRunner,
  type PartitionLoopSettings,
} from "./kafka-partition-loop";
import { BusHeaders, type SourceTopic } from "./routing";
import type { BusMessage, BusRecord, HandlerOutcome, PendingOutcome } from "./types";
import { gate, waitUntil } from "./wait";

const TOPIC: SourceTopic = { name: "t", logicalTopic: "t", retryLevel: 0 };
const RETRY_TOPIC: SourceTopic = { name: "t.retry.1", logicalTopic: "t", retryLevel: 1 };
const GROUP = "g";
const NOW_MS = 1_000_000;
const ok: HandlerOutcome = { kind: "ok" };
const retry: HandlerOutcome = { kind: "retry", reason: "later" };
const waitOptions = { timeoutMs: 5_000, intervalMs: 1 };

/** `count` fetched records of one partition from offset `first` on (not 0: a count taken for an offset shows). */
function fetched(count: number, first = 10, headers?: FetchedHeaders): FetchedMessage[] {
  return Array.from({ length: count }, (_, index) => ({
    offset: String(first + index),
    key: Buffer.from(`k${first + index}`),
    value: Buffer.from([first + index]),
    headers,
  }));
}

/** The consumer side of a batch: records what the loop asks of kafkajs, in one log with the handler's calls. */
class FakeConsumer implements BatchPorts {
  running = true;
  stale = false;
  heartbeats = 0;
  constructor(readonly log: string[]) {}
  commit(offset: string): Promise<void> {
    this.log.push(`commit ${offset}`);
    return Promise.resolve();
  }
  resolveOffset(offset: string): void {
    this.log.push(`resolve ${offset}`);
  }
  heartbeat(): Promise<void> {
    this.heartbeats += 1;
    return Promise.resolve();
  }
  seek(offset: string): void {
    this.log.push(`seek ${offset}`);
  }
  pauseFor(delayMs: number): void {
    this.log.push(`pause ${delayMs}`);
  }
  isRunning(): boolean {
    return this.running;
  }
  isStale(): boolean {
    return this.stale;
  }
}

interface Loop {
  log: string[];
  consumer: FakeConsumer;
  /** Records in the order the handler got them. */
  handled: BusRecord[];
  published: { topic: string; message: BusMessage }[];
  /** Runs one batch of `TOPIC` (or `source`) partition 3; `done` turns true once it resolved. */
  run(messages: readonly FetchedMessage[], source?: SourceTopic): Promise<void> & { done(): boolean };
  /** Log lines of one kind, without the kind: `entries("commit")` -> ["11", "15"]. */
  entries(kind: string): string[];
}

function loop(
  handle: (record: BusRecord) => Promise<HandlerOutcome | PendingOutcome>,
  options: {
    settings?: Partial<PartitionLoopSettings>;
    publish?: (topic: string, message: BusMessage) => Promise<void>;
  } = {},
): Loop {
  const log: string[] = [];
  const consumer = new FakeConsumer(log);
  const handled: BusRecord[] = [];
  const published: { topic: string; message: BusMessage }[] = [];
  const runner = new PartitionBatchRunner(
    {
      groupId: GROUP,
      policy: { delaysMs: [500, 5_000] },
      maxPending: 64,
      commitEveryRecords: DEFAULT_COMMIT_EVERY_RECORDS,
      heartbeatIntervalMs: 2,
      ...options.settings,
    },
    {
      handle: (record) => {
        log.push(`handle ${record.offset}`);
        handled.push(record);
        return handle(record);
      },
      publish: (topic, message) => {
        log.push(`publish ${topic} ${message.key}`);
        published.push({ topic, message });
        // The brokers acknowledge a turn later, unless the test's `publish` decides otherwise.
        const acknowledged = options.publish ? options.publish(topic, message) : nextTurn();
        return acknowledged.then(() => {
          log.push(`acknowledged ${topic} ${message.key}`);
        });
      },
      now: () => NOW_MS,
    },
  );
  return {
    log,
    consumer,
    handled,
    published,
    run(messages, source = TOPIC) {
      let done = false;
      const running = runner.run({ source, partition: 3, messages }, consumer).finally(() => {
        done = true;
      });
      return Object.assign(running, { done: () => done });
    },
    entries: (kind) =>
      log.filter((line) => line.startsWith(`${kind} `)).map((line) => line.slice(kind.length + 1)),
  };
}

/** Lets every queued promise callback run (the loop's settlement chains are promise callbacks only). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("PartitionBatchRunner", () => {
  it("hands records to the handler one at a time in offset order and commits after the last", async () => {
    let active = 0;
    let mostActive = 0;
    const subject = loop(async () => {
      active += 1;
      mostActive = Math.max(mostActive, active);
      await nextTurn();
      active -= 1;
      return ok;
    });
    const headers = { traceparent: Buffer.from("00-abc-def-01"), repeated: [Buffer.from("a"), "b"] };
    await subject.run(fetched(3, 10, headers));

    expect(subject.handled.map((record) => record.offset)).toEqual(["10", "11", "12"]);
    expect(mostActive).toBe(1);
    expect(subject.handled[0]).toEqual({
      topic: "t",
      sourceTopic: "t",
      key: "k10",
      value: new Uint8Array([10]),
      headers: { traceparent: "00-abc-def-01", repeated: "b" },
      partition: 3,
      offset: "10",
      attempt: 1,
    });
    expect(subject.entries("resolve")).toEqual(["10", "11", "12"]);
    expect(subject.entries("commit")).toEqual(["13"]);
    expect(subject.log.at(-1)).toBe("commit 13");
  });

  it("commits only over the settled prefix: a pending record holds back the records after it", async () => {
    const held = gate();
    const subject = loop(
      async (record) =>
        record.offset === "11" ? pendingOutcome(held.promise.then((): HandlerOutcome => ok)) : ok,
      { settings: { commitEveryRecords: 2 } },
    );
    const running = subject.run(fetched(5));
    await waitUntil(() => subject.entries("resolve").includes("14"), waitOptions);
    await nextTurn();

    // Record 10 settled before 11 was pending; 12 to 14 were handled but wait behind 11.
    expect(subject.entries("commit")).toEqual(["11"]);
    expect(running.done()).toBe(false);
    held.open();
    await running;
    expect(subject.entries("commit")).toEqual(["11", "15"]);
  });

  it("ends a batch only once its pending records settled, heartbeating while it waits", async () => {
    const held = gate();
    const subject = loop(async (record) =>
      record.offset === "11" ? pendingOutcome(held.promise.then((): HandlerOutcome => ok)) : ok,
    );
    const running = subject.run(fetched(2));
    await waitUntil(() => subject.entries("resolve").includes("11"), waitOptions);
    const heartbeatsAfterLastRecord = subject.consumer.heartbeats;
    await waitUntil(() => subject.consumer.heartbeats >= heartbeatsAfterLastRecord + 3, waitOptions);

    expect(running.done()).toBe(false);
    expect(subject.entries("commit")).toEqual([]);
    held.open();
    await running;
    expect(subject.entries("commit")).toEqual(["12"]);
  });

  it("counts a pending answer's rejection, like a handler's throw, as retry: the copy goes out before the commit", async () => {
    const subject = loop(async (record) => {
      if (record.offset === "10") return pendingOutcome(Promise.reject(new Error("broker said no")));
      throw new Error("handler failed");
    });
    await subject.run(fetched(2));

    const retried = new Map(subject.published.map(({ topic, message }) => [message.key, { topic, message }]));
    expect([...retried.keys()].sort()).toEqual(["k10", "k11"]);
    expect(retried.get("k10")?.topic).toBe("t.retry.1");
    expect(retried.get("k10")?.message.headers?.[BusHeaders.retryReason]).toBe(
      "handler threw: broker said no",
    );
    expect(retried.get("k10")?.message.headers?.[BusHeaders.attempt]).toBe("2");
    expect(retried.get("k11")?.topic).toBe("t.retry.1");
    expect(retried.get("k11")?.message.headers?.[BusHeaders.retryReason]).toBe(
      "handler threw: handler failed",
    );
    expect(subject.entries("seek")).toEqual([]);
    expect(subject.entries("commit")).toEqual(["12"]);
    // Both copies were acknowledged before the commit past their records.
    for (const key of ["k10", "k11"]) {
      expect(subject.log.indexOf(`acknowledged t.retry.1 ${key}`)).toBeGreaterThan(-1);
      expect(subject.log.indexOf(`acknowledged t.retry.1 ${key}`)).toBeLessThan(
        subject.log.indexOf("commit 12"),
      );
    }
    expect(subject.log.at(-1)).toBe("commit 12");
  });

  it("commits every commitEveryRecords records within a long batch", async () => {
    const subject = loop(async () => ok);
    await subject.run(fetched(250));

    expect(subject.entries("commit")).toEqual(["110", "210", "260"]);
    // Each commit follows the record that completed its hundred, not the end of the batch.
    expect(subject.log.indexOf("commit 110")).toBe(subject.log.indexOf("resolve 109") + 1);
  });

  it("on a stop mid-batch commits what settled before the first pending record, and no further", async () => {
    const held = gate();
    const subject = loop(async (record) => {
      if (record.offset === "11") return pendingOutcome(held.promise.then((): HandlerOutcome => ok));
      if (record.offset === "13") subject.consumer.running = false;
      return ok;
    });
    // Stopping does not wait for pending records.
    await subject.run(fetched(6));

    expect(subject.handled.map((record) => record.offset)).toEqual(["10", "11", "12", "13"]);
    expect(subject.entries("commit")).toEqual(["11"]);
    held.open();
    await nextTurn();
    expect(subject.entries("commit")).toEqual(["11"]);
  });

  it("does not commit a record whose handler returned after the member began stopping", async () => {
    const subject = loop(async (record) => {
      if (record.offset === "11") subject.consumer.running = false;
      return ok;
    });
    await subject.run(fetched(3));

    expect(subject.entries("resolve")).toEqual(["10"]);
    expect(subject.entries("commit")).toEqual(["11"]);
  });

  it("commits nothing once a rebalance may have moved the partition", async () => {
    const subject = loop(async (record) => {
      if (record.offset === "11") subject.consumer.stale = true;
      return ok;
    });
    await subject.run(fetched(3));

    expect(subject.handled.map((record) => record.offset)).toEqual(["10", "11"]);
    expect(subject.entries("commit")).toEqual([]);
  });

  it("rewinds to a pending record whose retry copy cannot be published, after committing the records before it", async () => {
    const retryDecided = gate();
    const subject = loop(
      async (record) => {
        if (record.offset === "11") return pendingOutcome(retryDecided.promise.then(() => retry));
        if (record.offset === "13") {
          retryDecided.open();
          await nextTurn();
        }
        return ok;
      },
      { publish: () => Promise.reject(new Error("brokers unreachable")) },
    );
    await subject.run(fetched(5));

    expect(subject.entries("publish")).toEqual(["t.retry.1 k11"]);
    // 12 and 13 were handled after 11 and are read again from the rewind; 14 waits for that.
    expect(subject.handled.map((record) => record.offset)).toEqual(["10", "11", "12", "13"]);
    expect(subject.entries("commit")).toEqual(["11"]);
    expect(subject.entries("seek")).toEqual(["11"]);
    expect(subject.log.indexOf("commit 11")).toBeLessThan(subject.log.indexOf("seek 11"));
  });

  it("rewinds at the batch end when its last pending record's retry copy cannot be published", async () => {
    const subject = loop(
      async (record) => (record.offset === "11" ? pendingOutcome(Promise.resolve(retry)) : ok),
      { publish: () => Promise.reject(new Error("brokers unreachable")) },
    );
    await subject.run(fetched(2));

    expect(subject.entries("commit")).toEqual(["11"]);
    expect(subject.entries("seek")).toEqual(["11"]);
  });

  it("keeps at most maxPending records pending, heartbeating while it waits for the oldest", async () => {
    const gates = new Map(["10", "11", "12", "13"].map((offset) => [offset, gate()]));
    const subject = loop(
      async (record) => pendingOutcome(gates.get(record.offset)!.promise.then((): HandlerOutcome => ok)),
      { settings: { maxPending: 2 } },
    );
    const running = subject.run(fetched(4));
    await waitUntil(() => subject.handled.length === 2, waitOptions);
    const heartbeats = subject.consumer.heartbeats;
    await waitUntil(() => subject.consumer.heartbeats >= heartbeats + 3, waitOptions);

    expect(subject.handled.map((record) => record.offset)).toEqual(["10", "11"]);
    gates.get("10")!.open();
    await waitUntil(() => subject.handled.length === 3, waitOptions);
    for (const held of gates.values()) held.open();
    await running;
    expect(subject.handled.map((record) => record.offset)).toEqual(["10", "11", "12", "13"]);
    expect(subject.entries("commit")).toEqual(["14"]);
  });

  it("pauses the partition at a retry record not due yet, after committing what settled before it", async () => {
    const retryHeaders = (group: string, notBeforeMs: number): FetchedHeaders => ({
      [BusHeaders.group]: group,
      [BusHeaders.notBefore]: String(notBeforeMs),
      [BusHeaders.attempt]: "2",
    });
    const messages = [
      { ...fetched(1, 10)[0]!, headers: retryHeaders(GROUP, NOW_MS - 1) },
      { ...fetched(1, 11)[0]!, headers: retryHeaders("another-group", NOW_MS - 1) },
      { ...fetched(1, 12)[0]!, headers: retryHeaders(GROUP, NOW_MS + 500) },
      { ...fetched(1, 13)[0]!, headers: retryHeaders(GROUP, NOW_MS - 1) },
    ];
    const subject = loop(async () => ok);
    await subject.run(messages, RETRY_TOPIC);

    // 11 belongs to another group's retries: skipped, yet committed.
    expect(subject.handled.map((record) => [record.offset, record.sourceTopic, record.attempt])).toEqual([
      ["10", "t.retry.1", 2],
    ]);
    expect(subject.entries("resolve")).toEqual(["10", "11"]);
    expect(subject.entries("commit")).toEqual(["12"]);
    expect(subject.entries("pause")).toEqual(["500"]);
    expect(subject.log.indexOf("commit 12")).toBeLessThan(subject.log.indexOf("pause 500"));
  });

  it("rejects the batch, committing nothing of it, when the handler's answer is not an outcome", async () => {
    const subject = loop(async (record) =>
      record.offset === "11" ? ({ kind: "done" } as unknown as HandlerOutcome) : ok,
    );
    await expect(subject.run(fetched(3))).rejects.toThrow(
      /answered \{ kind: 'done' \}, which is not an outcome/,
    );
    expect(subject.entries("resolve")).toEqual(["10"]);
    expect(subject.entries("commit")).toEqual([]);
  });
});
