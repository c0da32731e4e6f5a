/**
 * The bus contract's outcomes: retries after their delays with the publisher's headers, dead letters,
 * drops, retries kept to the group that asked for them (see `contract.ts`).
 */
import { expect, it } from "vitest";
import { type ContractSuite, ok, recordInto, text, textOf, uniqueName } from "./contract-support";
import { BusHeaders, deadTopicName, retryTopicName } from "./routing";
import type { BusRecord } from "./types";
import { delay } from "./wait";

export function outcomesContract(suite: ContractSuite): void {
  const { freshBus, subscribe, until, settleMs, firstDelayMs, secondDelayMs, testTimeoutMs } = suite;

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
}
