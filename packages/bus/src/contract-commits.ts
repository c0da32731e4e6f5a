/**
 * The bus contract's commits: pending records hold back the commits after them until they settle, and a
 * record in flight at a stop goes to the next member (see `contract.ts`).
 */
import { expect, it } from "vitest";
import { type ContractSuite, ok, recordInto, text, textOf, uniqueName } from "./contract-support";
import { pendingOutcome } from "./handler-answers";
import type { HandlerOutcome } from "./types";
import { delay, gate } from "./wait";

export function commitsContract(suite: ContractSuite): void {
  const { freshBus, subscribe, until, settleMs, firstDelayMs, secondDelayMs, testTimeoutMs } = suite;

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
            return pendingOutcome(delay(20).then((): HandlerOutcome => ({ kind: "retry", reason: "busy" })));
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
      expect(attempts.filter((attempt) => attempt.endsWith("@1"))).toEqual(["p0@1", "p1@1", "p2@1", "p3@1"]);
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
}
