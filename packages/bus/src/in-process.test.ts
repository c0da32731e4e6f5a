import { afterEach, describe, expect, it } from "vitest";
import { runBusContractSuite } from "./contract";
import { pendingOutcome } from "./handler-answers";
import { createInProcessBus } from "./in-process";
import type { Bus, HandlerOutcome } from "./types";
import { delay, gate, waitUntil } from "./wait";

runBusContractSuite("in-process", async (supervision) => {
  const bus = createInProcessBus({ partitions: 4, ...supervision });
  return { bus, cleanup: () => bus.close() };
});

describe("in-process bus specifics", () => {
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  it("keeps at most maxPendingPerPartition records of a partition pending", async () => {
    bus = createInProcessBus({ partitions: 1, maxPendingPerPartition: 2 });
    const started: number[] = [];
    const releases = [gate(), gate(), gate()];
    await bus.subscribe({
      groupId: "g",
      topics: ["t"],
      handle: async (record) => {
        const index = Number(record.offset);
        started.push(index);
        const release = releases[index];
        return pendingOutcome(
          release
            ? release.promise.then((): HandlerOutcome => ({ kind: "ok" }))
            : Promise.resolve({ kind: "ok" }),
        );
      },
    });
    await bus.publish(
      "t",
      [0, 1, 2, 3].map((index) => ({ key: "k", value: new Uint8Array([index]) })),
    );
    await waitUntil(() => started.length === 2, { timeoutMs: 1_000 });
    await delay(30);
    expect(started).toEqual([0, 1]);
    // Any one settling makes room, not only the oldest.
    releases[1]!.open();
    await waitUntil(() => started.length === 3, { timeoutMs: 1_000 });
    await delay(30);
    expect(started).toEqual([0, 1, 2]);
    releases[0]!.open();
    releases[2]!.open();
    await waitUntil(() => started.length === 4, { timeoutMs: 1_000 });
  });

  it("close() cancels pending retry timers so nothing runs afterwards", async () => {
    bus = createInProcessBus();
    let calls = 0;
    await bus.subscribe({
      groupId: "g",
      topics: ["t"],
      retry: { delaysMs: [40] },
      handle: async () => {
        calls++;
        return { kind: "retry", reason: "later" };
      },
    });
    await bus.publish("t", [{ key: "k", value: new Uint8Array([1]) }]);
    await waitUntil(() => calls === 1, { timeoutMs: 1_000 });
    await bus.close();
    await delay(80);
    expect(calls).toBe(1);
    await expect(bus.publish("t", [{ key: "k", value: new Uint8Array([2]) }])).rejects.toThrow(/closed/);
  });

  it("hands handlers a copy, so a publisher reusing its buffer cannot change a stored record", async () => {
    bus = createInProcessBus();
    const seen: number[] = [];
    const buffer = new Uint8Array([7]);
    await bus.publish("copy", [{ key: "k", value: buffer }]);
    buffer[0] = 9;
    await bus.subscribe({
      groupId: "g",
      topics: ["copy"],
      handle: async (record) => {
        seen.push(record.value[0]!);
        return { kind: "ok" };
      },
    });
    await waitUntil(() => seen.length === 1, { timeoutMs: 1_000 });
    expect(seen).toEqual([7]);
  });

  it("puts keys on the partition Kafka's partitioner picks", async () => {
    bus = createInProcessBus({ partitions: 6 });
    const partitions = new Map<string, number>();
    await bus.subscribe({
      groupId: "g",
      topics: ["p"],
      handle: async (record) => {
        partitions.set(record.key, record.partition);
        return { kind: "ok" };
      },
    });
    await bus.publish("p", [
      { key: "21", value: new Uint8Array() },
      { key: "foobar", value: new Uint8Array() },
    ]);
    await waitUntil(() => partitions.size === 2, { timeoutMs: 1_000 });
    // toPositive(-973932308) % 6 and toPositive(-790332482) % 6
    expect(partitions.get("21")).toBe((-973932308 & 0x7fffffff) % 6);
    expect(partitions.get("foobar")).toBe((-790332482 & 0x7fffffff) % 6);
  });

  it("rejects a retry policy with a negative delay", async () => {
    bus = createInProcessBus();
    await expect(
      bus.subscribe({
        groupId: "g",
        topics: ["t"],
        retry: { delaysMs: [-1] },
        handle: async () => ({ kind: "ok" }),
      }),
    ).rejects.toThrow(/retry delays/);
  });
});

describe("in-process subscription stop", () => {
  it("lets every caller of stop() wait for the in-flight handler", async () => {
    const bus = createInProcessBus();
    let release: () => void = () => {};
    let started = false;
    let finished = false;
    const subscription = await bus.subscribe({
      groupId: "g",
      topics: ["t"],
      handle: async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
          started = true;
        });
        finished = true;
        return { kind: "ok" };
      },
    });
    await bus.publish("t", [{ key: "k", value: new Uint8Array() }]);
    await waitUntil(() => started, { timeoutMs: 1_000 });
    const first = subscription.stop();
    const second = subscription.stop();
    let secondSettled = false;
    void second.then(() => {
      secondSettled = true;
    });
    await delay(20);
    expect(secondSettled).toBe(false);
    release();
    await second;
    expect(finished).toBe(true);
    await first;
    await bus.close();
  });
});
