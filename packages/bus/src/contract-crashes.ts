/**
 * The bus contract's crashes: a crashed consumer restarts and handles its record again, one crashing too
 * often gives up, and the bus lists its consumers (see `contract.ts`).
 */
import { expect, it } from "vitest";
import { type ContractSuite, ok, text, textOf, uniqueName } from "./contract-support";
import type { ConsumerEvent, HandlerOutcome } from "./types";
import { delay, waitUntil } from "./wait";

export function crashesContract(suite: ContractSuite): void {
  const { freshBus, subscribe, until, waitTimeoutMs, settleMs, testTimeoutMs } = suite;

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
}
