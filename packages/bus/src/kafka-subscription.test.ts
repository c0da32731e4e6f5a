import { describe, expect, it } from "vitest";
import { ConsumerSupervision, restartPolicyWith } from "./consumer-supervision";
import { type ConsumerFactory, KafkaSubscription } from "./kafka-subscription";
import type { ConsumerEvent, ConsumerRestartPolicy } from "./types";
import { delay, waitUntil } from "./wait";

/** A stand-in for a kafkajs consumer: it only counts its disconnects. */
interface FakeConsumer {
  id: number;
  disconnects: number;
  disconnect(): Promise<void>;
}

/**
 * Consumers whose starts go as `outcomes` says, in order (`join`, or an error to fail with; the last
 * one repeats), and whose crash after joining the test triggers with `crash(id)`.
 */
function fakeConsumers(outcomes: Array<"join" | Error>, joinTimeoutMs = 5_000) {
  const created: FakeConsumer[] = [];
  const crashOf = new Map<number, (error: Error) => void>();
  const factory: ConsumerFactory<FakeConsumer> = {
    joinTimeoutMs,
    create(onCrashAfterJoin) {
      const consumer: FakeConsumer = {
        id: created.length + 1,
        disconnects: 0,
        async disconnect() {
          consumer.disconnects += 1;
        },
      };
      created.push(consumer);
      crashOf.set(consumer.id, onCrashAfterJoin);
      return { consumer, joined: Promise.resolve() };
    },
    async run(starting) {
      const outcome = outcomes[Math.min(starting.consumer.id - 1, outcomes.length - 1)];
      if (outcome instanceof Error) throw outcome;
    },
  };
  const crash = (id: number, error = new Error(`consumer ${id} crashed`)) => crashOf.get(id)?.(error);
  return { factory, created, crash };
}

function subscriptionOf(
  factory: ConsumerFactory<FakeConsumer>,
  policy: Partial<ConsumerRestartPolicy>,
): { subscription: KafkaSubscription<FakeConsumer>; events: ConsumerEvent[]; stopped: () => boolean } {
  const restart = restartPolicyWith({ initialDelayMs: 10, maxDelayMs: 10, ...policy });
  const events: ConsumerEvent[] = [];
  let stopped = false;
  const subscription = new KafkaSubscription(
    factory,
    restart,
    new ConsumerSupervision("g", ["t"], restart, (event) => events.push(event)),
    () => {
      stopped = true;
    },
  );
  return { subscription, events, stopped: () => stopped };
}

const loading = new Error("The group coordinator is loading");

describe("KafkaSubscription", () => {
  it("tries a failed first start again within the join timeout, without counting a crash", async () => {
    const { factory, created } = fakeConsumers([loading, loading, "join"]);
    const { subscription, events } = subscriptionOf(factory, {});
    await subscription.start();
    expect(created.map((consumer) => consumer.disconnects)).toEqual([1, 1, 0]);
    expect(events).toEqual([]);
    expect(subscription.supervision.state).toEqual({ kind: "running" });
  });

  it("rejects the first start with its last failure once the join timeout is spent", async () => {
    const { factory } = fakeConsumers([loading], 100);
    const { subscription } = subscriptionOf(factory, { initialDelayMs: 20, maxDelayMs: 20 });
    await expect(subscription.start()).rejects.toThrow(loading.message);
  });

  it("restarts a consumer that crashed after joining; a failed restart is the next crash in a row", async () => {
    const { factory, created, crash } = fakeConsumers(["join", loading, "join"]);
    const { subscription, events } = subscriptionOf(factory, { maxRestarts: 2 });
    await subscription.start();
    crash(1);
    await waitUntil(() => subscription.supervision.state.kind === "running" && created.length === 3, {
      timeoutMs: 5_000,
      description: "the third consumer",
    });
    expect(events.map((event) => [event.kind, event.crashes])).toEqual([
      ["crashed", 1],
      ["crashed", 2],
      ["restarted", 2],
    ]);
    // Every replaced consumer was disconnected (a second disconnect of one does nothing in kafkajs).
    expect(created.map((consumer) => consumer.disconnects > 0)).toEqual([true, true, false]);
    // A crash soon after the restart is the third in a row: past the limit of two restarts.
    crash(3);
    expect(subscription.supervision.state).toMatchObject({ kind: "failed", crashes: 3 });
    expect(events.at(-1)).toMatchObject({ kind: "gaveUp", crashes: 3, groupId: "g", topics: ["t"] });
    await delay(50);
    expect(created).toHaveLength(3);
  });

  it("ignores crashes of replaced consumers and restarts nothing once stopped", async () => {
    const { factory, created, crash } = fakeConsumers(["join"]);
    const { subscription, events, stopped } = subscriptionOf(factory, { initialDelayMs: 50, maxDelayMs: 50 });
    await subscription.start();
    crash(1);
    await waitUntil(() => created.length === 2 && subscription.supervision.state.kind === "running", {
      timeoutMs: 5_000,
      description: "the restart",
    });
    crash(1, new Error("late news of the first consumer"));
    expect(subscription.supervision.state).toEqual({ kind: "running" });

    crash(2);
    expect(subscription.supervision.state.kind).toBe("restarting");
    await subscription.stop();
    expect(stopped()).toBe(true);
    await delay(100);
    expect(created).toHaveLength(2);
    expect(events.map((event) => event.kind)).toEqual(["crashed", "restarted", "crashed"]);
  });
});
