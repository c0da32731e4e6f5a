import { describe, expect, it } from "vitest";
import { createFairWorkQueue, WorkQueueFullError } from "./fair-queue.js";

/** A task that finishes when told to, recording when it started. */
function gate(log: string[], name: string) {
  let open: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    open: () => open(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("fair work queue", () => {
  it("runs at most `concurrency` tasks and starts the next as one finishes", async () => {
    const queue = createFairWorkQueue({ concurrency: 2, maxWaiting: 10, maxPerKey: 10 });
    const log: string[] = [];
    const gates = ["a", "b", "c"].map((name) => gate(log, name));
    const results = gates.map((g, i) => queue.run(`k${i}`, g.task));
    await tick();
    expect(log).toEqual(["a", "b"]);
    expect([queue.running, queue.waiting]).toEqual([2, 1]);
    gates[0]?.open();
    await tick();
    expect(log).toEqual(["a", "b", "c"]);
    for (const g of gates) g.open();
    expect(await Promise.all(results)).toEqual(["a", "b", "c"]);
    expect([queue.running, queue.waiting]).toEqual([0, 0]);
  });

  it("serves a second key's one task before the rest of a first key's burst", async () => {
    const queue = createFairWorkQueue({ concurrency: 1, maxWaiting: 10, maxPerKey: 10 });
    const log: string[] = [];
    const burst = Array.from({ length: 6 }, (_, i) => gate(log, `attacker-${i}`));
    const burstRuns = burst.map((g) => queue.run("attacker", g.task));
    const user = gate(log, "user");
    const userRun = queue.run("user", user.task);
    for (const g of [...burst, user]) g.open();
    await Promise.all([...burstRuns, userRun]);
    // The first attacker task was already running; the user's comes right after it.
    expect(log.indexOf("user")).toBe(1);
  });

  it("refuses at once a key over its share, and any task once the queue is full", async () => {
    const queue = createFairWorkQueue({ concurrency: 1, maxWaiting: 2, maxPerKey: 2 });
    const log: string[] = [];
    const gates = Array.from({ length: 4 }, (_, i) => gate(log, `t${i}`));
    const first = queue.run("a", gates[0]!.task);
    const second = queue.run("a", gates[1]!.task);
    await expect(queue.run("a", gates[2]!.task)).rejects.toEqual(new WorkQueueFullError("key"));
    const third = queue.run("b", gates[2]!.task);
    await expect(queue.run("c", gates[3]!.task)).rejects.toEqual(new WorkQueueFullError("queue"));
    for (const g of gates) g.open();
    expect(await Promise.all([first, second, third])).toEqual(["t0", "t1", "t2"]);
    // Room again once the work is done.
    expect(await queue.run("a", async () => "again")).toBe("again");
  });

  it("passes a failing task's error on and frees its place", async () => {
    const queue = createFairWorkQueue({ concurrency: 1, maxWaiting: 0, maxPerKey: 1 });
    await expect(queue.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await queue.run("a", async () => 1)).toBe(1);
  });
});
