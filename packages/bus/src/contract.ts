/**
 * The contract every Bus adapter must pass. Each test uses fresh topic and group names, and waits by
 * polling with generous deadlines, so the same suite runs against the in-process bus and a real Kafka
 * cluster (where group joins and rebalances take seconds).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SupervisionOptions } from "./consumer-supervision";
import { pendingOutcome } from "./handler-answers";
import { BusHeaders, deadTopicName, retryTopicName } from "./routing";
import type {
  Bus,
  BusRecord,
  ConsumerEvent,
  HandlerOutcome,
  MonitoredBus,
  SubscribeOptions,
  Subscription,
} from "./types";
import { delay, gate, waitUntil } from "./wait";

export { delay, gate, type WaitOptions, waitUntil } from "./wait";

export interface BusUnderTest {
  bus: MonitoredBus;
  /** Closes the bus and anything else the factory created. */
  cleanup(): Promise<void>;
}

export interface BusContractOptions {
  /** Deadline for each awaited condition (default 10 s). */
  waitTimeoutMs?: number;
  /** Quiet period for checks that nothing more arrives (default 300 ms). */
  settleMs?: number;
  /** Two increasing retry delays used by the retry tests (default 50 ms, 150 ms). */
  retryDelaysMs?: readonly [number, number];
  /** Number of records in the no-loss test (default 400). */
  manyMessages?: number;
  /** Vitest timeout of each test (default 60 s). */
  testTimeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string) => encoder.encode(value);
const textOf = (record: BusRecord) => decoder.decode(record.value);
const ok: HandlerOutcome = { kind: "ok" };

/** A handler that notes each record's text in `into` and answers `ok`. */
const recordInto =
  (into: string[]) =>
  async (record: BusRecord): Promise<HandlerOutcome> => {
    into.push(textOf(record));
    return ok;
  };

export function runBusContractSuite(
  name: string,
  /** A fresh bus; `supervision` (restart policy, event listener) is passed to the adapter as is. */
  makeBus: (supervision?: SupervisionOptions) => Promise<BusUnderTest>,
  options: BusContractOptions = {},
): void {
  const waitTimeoutMs = options.waitTimeoutMs ?? 10_000;
  const settleMs = options.settleMs ?? 300;
  const [firstDelayMs, secondDelayMs] = options.retryDelaysMs ?? [50, 150];
  const manyMessages = options.manyMessages ?? 400;
  const testTimeoutMs = options.testTimeoutMs ?? 60_000;

  describe(`bus contract: ${name}`, () => {
    let underTest: BusUnderTest | undefined;
    const subscriptions: Subscription[] = [];

    afterEach(async () => {
      for (const subscription of subscriptions.splice(0)) await subscription.stop();
      await underTest?.cleanup();
      underTest = undefined;
    });

    async function freshBus(supervision?: SupervisionOptions): Promise<MonitoredBus> {
      underTest = await makeBus(supervision);
      return underTest.bus;
    }

    async function subscribe(bus: Bus, subscribeOptions: SubscribeOptions): Promise<Subscription> {
      const subscription = await bus.subscribe(subscribeOptions);
      subscriptions.push(subscription);
      return subscription;
    }

    const until = (description: string, condition: () => boolean) =>
      waitUntil(condition, { timeoutMs: waitTimeoutMs, intervalMs: 20, description });

    it(
      "delivers the records of one key in publish order, one record at a time per partition",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("order");
        const keys = ["k0", "k1", "k2", "k3", "k4", "k5"];
        const perKey = 20;
        const seen = new Map<string, number[]>();
        const inFlight = new Map<number, number>();
        let overlaps = 0;
        let handled = 0;
        await subscribe(bus, {
          groupId: uniqueName("order-group"),
          topics: [topic],
          handle: async (record) => {
            const running = (inFlight.get(record.partition) ?? 0) + 1;
            inFlight.set(record.partition, running);
            if (running > 1) overlaps++;
            await delay(1);
            seen.set(record.key, [...(seen.get(record.key) ?? []), Number(textOf(record))]);
            inFlight.set(record.partition, running - 1);
            handled++;
            return ok;
          },
        });
        for (let sequence = 0; sequence < perKey; sequence++) {
          await bus.publish(
            topic,
            keys.map((key) => ({ key, value: text(String(sequence)) })),
          );
        }
        await until("all records", () => handled >= keys.length * perKey);
        const expected = Array.from({ length: perKey }, (_, index) => index);
        for (const key of keys) expect(seen.get(key)).toEqual(expected);
        expect(overlaps).toBe(0);
      },
      testTimeoutMs,
    );

    it(
      "gives every consumer group every record",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("groups");
        const received = { first: [] as string[], second: [] as string[] };
        for (const which of ["first", "second"] as const) {
          await subscribe(bus, {
            groupId: uniqueName(`groups-${which}`),
            topics: [topic],
            handle: recordInto(received[which]),
          });
        }
        const values = Array.from({ length: 30 }, (_, index) => `v${index}`);
        await bus.publish(
          topic,
          values.map((value, index) => ({ key: `key-${index % 7}`, value: text(value) })),
        );
        await until("both groups", () => received.first.length >= 30 && received.second.length >= 30);
        await delay(settleMs);
        expect([...received.first].sort()).toEqual([...values].sort());
        expect([...received.second].sort()).toEqual([...values].sort());
      },
      testTimeoutMs,
    );

    it(
      "splits partitions between members of one group without duplicates",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("split");
        const groupId = uniqueName("split-group");
        const byMember = [[], []] as BusRecord[][];
        for (const member of [0, 1]) {
          await subscribe(bus, {
            groupId,
            topics: [topic],
            handle: async (record) => {
              byMember[member]!.push(record);
              return ok;
            },
          });
        }
        const count = 60;
        await bus.publish(
          topic,
          Array.from({ length: count }, (_, index) => ({ key: `key-${index}`, value: text(`v${index}`) })),
        );
        await until("all records", () => byMember[0]!.length + byMember[1]!.length >= count);
        await delay(settleMs);
        const all = [...byMember[0]!, ...byMember[1]!].map(textOf);
        expect(all.length).toBe(count);
        expect(new Set(all).size).toBe(count);
        expect(byMember[0]!.length).toBeGreaterThan(0);
        expect(byMember[1]!.length).toBeGreaterThan(0);
        const partitionsOf = (records: BusRecord[]) => new Set(records.map((record) => record.partition));
        const shared = [...partitionsOf(byMember[0]!)].filter((partition) =>
          partitionsOf(byMember[1]!).has(partition),
        );
        expect(shared).toEqual([]);
      },
      testTimeoutMs,
    );

    it(
      "redelivers a record whose handler threw, keeping the publisher's headers",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("throw");
        const deliveries: BusRecord[] = [];
        await subscribe(bus, {
          groupId: uniqueName("throw-group"),
          topics: [topic],
          retry: { delaysMs: [firstDelayMs] },
          handle: async (record) => {
            deliveries.push(record);
            if (deliveries.length === 1) throw new Error("database unavailable");
            return ok;
          },
        });
        await bus.publish(topic, [
          { key: "alice", value: text("payload"), headers: { traceparent: "00-trace-span-01" } },
        ]);
        await until("second delivery", () => deliveries.length >= 2);
        await delay(settleMs);
        expect(deliveries.map((record) => record.attempt)).toEqual([1, 2]);
        const [first, second] = deliveries as [BusRecord, BusRecord];
        expect(first.sourceTopic).toBe(topic);
        expect(second.topic).toBe(topic);
        expect(second.sourceTopic).toBe(retryTopicName(topic, 1));
        expect(second.key).toBe("alice");
        expect(textOf(second)).toBe("payload");
        expect(second.headers.traceparent).toBe("00-trace-span-01");
        expect(second.headers[BusHeaders.retryReason]).toContain("database unavailable");
      },
      testTimeoutMs,
    );

    it(
      "retries after increasing delays, then succeeds",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("retry");
        const attempts: { attempt: number; atMs: number }[] = [];
        await subscribe(bus, {
          groupId: uniqueName("retry-group"),
          topics: [topic],
          retry: { delaysMs: [firstDelayMs, secondDelayMs] },
          handle: async (record) => {
            attempts.push({ attempt: record.attempt, atMs: Date.now() });
            return record.attempt < 3 ? { kind: "retry", reason: `attempt ${record.attempt} failed` } : ok;
          },
        });
        await bus.publish(topic, [{ key: "bob", value: text("job") }]);
        await until("third attempt", () => attempts.length >= 3);
        await delay(settleMs);
        expect(attempts.map((entry) => entry.attempt)).toEqual([1, 2, 3]);
        const [first, second, third] = attempts as [
          (typeof attempts)[0],
          (typeof attempts)[0],
          (typeof attempts)[0],
        ];
        // Lower bounds only (timers may fire a millisecond early against Date.now's rounding).
        expect(second.atMs - first.atMs).toBeGreaterThanOrEqual(firstDelayMs - 2);
        expect(third.atMs - second.atMs).toBeGreaterThanOrEqual(secondDelayMs - 2);
      },
      testTimeoutMs,
    );

    it(
      "starts the next records while one is pending, and commits none past it until it settles",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("pending");
        const groupId = uniqueName("pending-group");
        const firstMember: string[] = [];
        const held = gate();
        const first = await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: async (record) => {
            firstMember.push(textOf(record));
            if (textOf(record) === "m0") {
              return pendingOutcome(held.promise.then((): HandlerOutcome => ok));
            }
            return ok;
          },
        });
        await bus.publish(
          topic,
          ["m0", "m1", "m2", "m3"].map((value) => ({ key: "erin", value: text(value) })),
        );
        await until("the records after the pending one", () => firstMember.length >= 4);
        expect(firstMember).toEqual(["m0", "m1", "m2", "m3"]);
        await first.stop();
        // Settling after its member stopped commits nothing either.
        held.open();
        const secondMember: string[] = [];
        await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: recordInto(secondMember),
        });
        await until("redelivery from the pending record on", () => secondMember.length >= 4);
        await delay(settleMs);
        expect(secondMember).toEqual(["m0", "m1", "m2", "m3"]);
      },
      testTimeoutMs,
    );

    it(
      "commits pending records once they settle, and retries one whose outcome is retry or a rejection",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("pending-settle");
        const groupId = uniqueName("pending-settle-group");
        const attempts: string[] = [];
        const first = await subscribe(bus, {
          groupId,
          topics: [topic],
          retry: { delaysMs: [firstDelayMs, secondDelayMs] },
          handle: async (record) => {
            const value = textOf(record);
            attempts.push(`${value}@${record.attempt}`);
            if (value === "p1" && record.attempt === 1) {
              return pendingOutcome(
                delay(20).then((): HandlerOutcome => ({ kind: "retry", reason: "busy" })),
              );
            }
            if (value === "p2" && record.attempt === 1) {
              return pendingOutcome(
                delay(10).then((): HandlerOutcome => {
                  throw new Error("lost");
                }),
              );
            }
            return pendingOutcome(delay(5).then((): HandlerOutcome => ok));
          },
        });
        await bus.publish(
          topic,
          ["p0", "p1", "p2", "p3"].map((value) => ({ key: "frank", value: text(value) })),
        );
        await until("both retries", () => attempts.includes("p1@2") && attempts.includes("p2@2"));
        await delay(settleMs);
        expect(attempts.filter((attempt) => attempt.endsWith("@1"))).toEqual([
          "p0@1",
          "p1@1",
          "p2@1",
          "p3@1",
        ]);
        expect(attempts.filter((attempt) => attempt.endsWith("@2")).sort()).toEqual(["p1@2", "p2@2"]);
        await first.stop();
        // Everything settled, so everything was committed: a new member gets nothing.
        const later: string[] = [];
        await subscribe(bus, {
          groupId,
          topics: [topic],
          retry: { delaysMs: [firstDelayMs, secondDelayMs] },
          handle: recordInto(later),
        });
        await bus.publish(topic, [{ key: "frank", value: text("p4") }]);
        await until("the new record", () => later.includes("p4"));
        await delay(settleMs);
        expect(later).toEqual(["p4"]);
      },
      testTimeoutMs,
    );

    it(
      "moves a record to the dead topic with the reason once retries are exhausted",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("exhaust");
        let handled = 0;
        const dead: BusRecord[] = [];
        await subscribe(bus, {
          groupId: uniqueName("exhaust-dead-reader"),
          topics: [deadTopicName(topic)],
          handle: async (record) => {
            dead.push(record);
            return ok;
          },
        });
        await subscribe(bus, {
          groupId: uniqueName("exhaust-group"),
          topics: [topic],
          retry: { delaysMs: [firstDelayMs] },
          handle: async () => {
            handled++;
            return { kind: "retry", reason: "remote inbox returned 503" };
          },
        });
        await bus.publish(topic, [{ key: "carol", value: text("doomed"), headers: { traceparent: "t-1" } }]);
        await until("dead record", () => dead.length >= 1);
        await delay(settleMs);
        expect(handled).toBe(2);
        expect(dead).toHaveLength(1);
        const record = dead[0]!;
        expect(record.key).toBe("carol");
        expect(textOf(record)).toBe("doomed");
        expect(record.headers[BusHeaders.deadReason]).toBe("remote inbox returned 503");
        expect(record.headers[BusHeaders.deadKind]).toBe("retries-exhausted");
        expect(record.headers[BusHeaders.originalTopic]).toBe(topic);
        expect(record.headers[BusHeaders.attempts]).toBe("2");
        expect(record.headers.traceparent).toBe("t-1");
      },
      testTimeoutMs,
    );

    it(
      "sends a record answered with dlq straight to the dead topic",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("dlq");
        let handled = 0;
        const dead: BusRecord[] = [];
        await subscribe(bus, {
          groupId: uniqueName("dlq-dead-reader"),
          topics: [deadTopicName(topic)],
          handle: async (record) => {
            dead.push(record);
            return ok;
          },
        });
        await subscribe(bus, {
          groupId: uniqueName("dlq-group"),
          topics: [topic],
          retry: { delaysMs: [firstDelayMs, secondDelayMs] },
          handle: async () => {
            handled++;
            return { kind: "dlq", reason: "activity failed schema validation" };
          },
        });
        await bus.publish(topic, [{ key: "dave", value: text("{not json") }]);
        await until("dead record", () => dead.length >= 1);
        await delay(settleMs);
        expect(handled).toBe(1);
        expect(dead).toHaveLength(1);
        expect(dead[0]!.headers[BusHeaders.deadKind]).toBe("dlq");
        expect(dead[0]!.headers[BusHeaders.deadReason]).toBe("activity failed schema validation");
        expect(dead[0]!.headers[BusHeaders.attempts]).toBe("1");
        expect(dead[0]!.headers[BusHeaders.originalTopic]).toBe(topic);
      },
      testTimeoutMs,
    );

    it(
      "commits a dropped record without retrying or dead-lettering it",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("drop");
        const groupId = uniqueName("drop-group");
        const firstMember: string[] = [];
        const dead: BusRecord[] = [];
        await subscribe(bus, {
          groupId: uniqueName("drop-dead-reader"),
          topics: [deadTopicName(topic)],
          handle: async (record) => {
            dead.push(record);
            return ok;
          },
        });
        const member = await subscribe(bus, {
          groupId,
          topics: [topic],
          retry: { delaysMs: [firstDelayMs] },
          handle: async (record) => {
            firstMember.push(textOf(record));
            return { kind: "drop", reason: "duplicate activity" };
          },
        });
        await bus.publish(topic, [{ key: "erin", value: text("dropped") }]);
        await until("drop", () => firstMember.length >= 1);
        await delay(settleMs + firstDelayMs);
        await member.stop();
        expect(firstMember).toEqual(["dropped"]);
        expect(dead).toEqual([]);

        // A later member of the same group starts after the dropped record: it was committed.
        const laterMember: string[] = [];
        await subscribe(bus, {
          groupId,
          topics: [topic],
          retry: { delaysMs: [firstDelayMs] },
          handle: recordInto(laterMember),
        });
        await bus.publish(topic, [{ key: "erin", value: text("marker") }]);
        await until("marker", () => laterMember.includes("marker"));
        expect(laterMember).toEqual(["marker"]);
      },
      testTimeoutMs,
    );

    it(
      "commits only after the handler finished: a record in flight at stop() goes to the next member",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("commit");
        const groupId = uniqueName("commit-group");
        const inFlightGate = gate();
        const firstMember: string[] = [];
        const first = await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: async (record) => {
            firstMember.push(textOf(record));
            if (textOf(record) === "in-flight") await inFlightGate.promise;
            return ok;
          },
        });
        await bus.publish(topic, [
          { key: "frank", value: text("done") },
          { key: "frank", value: text("in-flight") },
        ]);
        await until("in-flight record reached the handler", () => firstMember.includes("in-flight"));
        const stopping = first.stop();
        inFlightGate.open();
        await stopping;

        const secondMember: string[] = [];
        await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: recordInto(secondMember),
        });
        await until("redelivery", () => secondMember.length >= 1);
        await delay(settleMs);
        expect(firstMember).toEqual(["done", "in-flight"]);
        expect(secondMember).toEqual(["in-flight"]);
      },
      testTimeoutMs,
    );

    it(
      "keeps one group's retries away from the other groups",
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("retry-isolation");
        const retrying: number[] = [];
        const steady: number[] = [];
        await subscribe(bus, {
          groupId: uniqueName("retrying-group"),
          topics: [topic],
          retry: { delaysMs: [firstDelayMs] },
          handle: async (record) => {
            retrying.push(record.attempt);
            return record.attempt === 1 ? { kind: "retry", reason: "not yet" } : ok;
          },
        });
        await subscribe(bus, {
          groupId: uniqueName("steady-group"),
          topics: [topic],
          retry: { delaysMs: [firstDelayMs] },
          handle: async (record) => {
            steady.push(record.attempt);
            return ok;
          },
        });
        await bus.publish(topic, [{ key: "grace", value: text("once") }]);
        await until("retry handled", () => retrying.length >= 2);
        await delay(settleMs);
        expect(retrying).toEqual([1, 2]);
        expect(steady).toEqual([1]);
      },
      testTimeoutMs,
    );

    it(
      `delivers ${manyMessages} records over many keys with no loss and no reordering`,
      async () => {
        const bus = await freshBus();
        const topic = uniqueName("many");
        const groupId = uniqueName("many-group");
        const seen = new Map<string, number[]>();
        let handled = 0;
        for (let member = 0; member < 2; member++) {
          await subscribe(bus, {
            groupId,
            topics: [topic],
            handle: async (record) => {
              const [key, sequence] = textOf(record).split(":") as [string, string];
              seen.set(key, [...(seen.get(key) ?? []), Number(sequence)]);
              handled++;
              return ok;
            },
          });
        }
        const keyCount = 16;
        const batchSize = 50;
        const expected = new Map<string, number[]>();
        for (let start = 0; start < manyMessages; start += batchSize) {
          const batch = [];
          for (let index = start; index < Math.min(start + batchSize, manyMessages); index++) {
            const key = `key-${index % keyCount}`;
            const sequence = Math.floor(index / keyCount);
            expected.set(key, [...(expected.get(key) ?? []), sequence]);
            batch.push({ key, value: text(`${key}:${sequence}`) });
          }
          await bus.publish(topic, batch);
        }
        await until(`${manyMessages} records`, () => handled >= manyMessages);
        await delay(settleMs);
        expect(handled).toBe(manyMessages);
        for (const [key, sequences] of expected) expect(seen.get(key)).toEqual(sequences);
      },
      testTimeoutMs,
    );

    // A handler answer the bus cannot route stands for any error that escapes a member's own record
    // handling: on Kafka the batch fails, kafkajs retries it and then crashes the consumer.
    const notAnOutcome = undefined as unknown as HandlerOutcome;
    const crashWaitMs = waitTimeoutMs * 2;

    it(
      "restarts a consumer that crashed, which handles the record it crashed on again",
      async () => {
        const events: ConsumerEvent[] = [];
        const bus = await freshBus({
          restart: { maxRestarts: 3, initialDelayMs: 50, maxDelayMs: 50 },
          onConsumerEvent: (event) => events.push(event),
        });
        const topic = uniqueName("crash");
        const groupId = uniqueName("crash-group");
        const handled: string[] = [];
        await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: async (record) => {
            if (!events.some((event) => event.kind === "crashed")) return notAnOutcome;
            handled.push(textOf(record));
            return ok;
          },
        });
        expect(bus.consumers()).toEqual([{ groupId, topics: [topic], state: { kind: "running" } }]);
        await bus.publish(topic, [{ key: "k", value: text("first") }]);
        await waitUntil(() => handled.includes("first"), {
          timeoutMs: crashWaitMs,
          intervalMs: 20,
          description: "the record after the restart",
        });
        expect(events.map((event) => [event.kind, event.groupId, event.topics, event.crashes])).toEqual([
          ["crashed", groupId, [topic], 1],
          ["restarted", groupId, [topic], 1],
        ]);
        expect(events[0]).toMatchObject({ restartInMs: 50 });
        expect(events[0]?.kind === "crashed" && events[0].error.message).toMatch(/not an outcome/);
        expect(bus.consumers()).toEqual([{ groupId, topics: [topic], state: { kind: "running" } }]);
        // The restarted consumer goes on consuming.
        await bus.publish(topic, [{ key: "k", value: text("second") }]);
        await until("the next record", () => handled.includes("second"));
      },
      testTimeoutMs * 2,
    );

    it(
      "gives up on a consumer that crashes more often in a row than its policy restarts",
      async () => {
        const events: ConsumerEvent[] = [];
        const bus = await freshBus({
          restart: { maxRestarts: 1, initialDelayMs: 20, maxDelayMs: 20 },
          onConsumerEvent: (event) => events.push(event),
        });
        const topic = uniqueName("poison");
        const groupId = uniqueName("poison-group");
        let calls = 0;
        await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: async () => {
            calls++;
            return notAnOutcome;
          },
        });
        await bus.publish(topic, [{ key: "k", value: text("poison") }]);
        await waitUntil(() => bus.consumers()[0]?.state.kind === "failed", {
          timeoutMs: crashWaitMs * 2,
          intervalMs: 20,
          description: "the consumer to give up",
        });
        expect(bus.consumers()[0]?.state).toMatchObject({ kind: "failed", crashes: 2 });
        expect(events.map((event) => [event.kind, event.crashes])).toEqual([
          ["crashed", 1],
          ["restarted", 1],
          ["gaveUp", 2],
        ]);
        const callsWhenGivenUp = calls;
        await delay(settleMs);
        expect(calls).toBe(callsWhenGivenUp);
      },
      testTimeoutMs * 3,
    );

    it("reports each subscription's consumer until it stops", async () => {
      const bus = await freshBus();
      const topic = uniqueName("listed");
      const first = await subscribe(bus, { groupId: "listed-a", topics: [topic], handle: async () => ok });
      await subscribe(bus, { groupId: "listed-b", topics: [topic], handle: async () => ok });
      expect(bus.consumers().map((consumer) => consumer.groupId)).toEqual(["listed-a", "listed-b"]);
      await first.stop();
      expect(bus.consumers().map((consumer) => consumer.groupId)).toEqual(["listed-b"]);
    });
  });
}

function uniqueName(label: string): string {
  return `contract.${label}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
