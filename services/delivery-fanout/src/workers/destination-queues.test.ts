import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { DestinationQueues } from "./destination-queues.js";

/** A job that finishes when the test says so, recording when it started. */
function controlledJob(log: string[], name: string) {
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    run: async () => {
      log.push(`start ${name}`);
      await finished;
      log.push(`end ${name}`);
    },
    finish: () => finish(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("DestinationQueues", () => {
  it("runs one destination's jobs in order and different destinations side by side", async () => {
    const queues = new DestinationQueues(10);
    const log: string[] = [];
    const a1 = controlledJob(log, "a1");
    const a2 = controlledJob(log, "a2");
    const b1 = controlledJob(log, "b1");
    await queues.submit("a", a1.run);
    await queues.submit("a", a2.run);
    await queues.submit("b", b1.run);
    await tick();
    expect(log).toEqual(["start a1", "start b1"]);
    b1.finish();
    await tick();
    expect(log).toEqual(["start a1", "start b1", "end b1"]);
    a1.finish();
    await tick();
    expect(log).toEqual(["start a1", "start b1", "end b1", "end a1", "start a2"]);
    expect(queues.pending).toBe(1);
    a2.finish();
    await queues.drain();
    expect(queues.pending).toBe(0);
  });

  it("runs up to perDestination jobs of one destination at once, starting them in order", async () => {
    const queues = new DestinationQueues(10, 2);
    const log: string[] = [];
    const jobs = ["a1", "a2", "a3"].map((name) => controlledJob(log, name));
    for (const job of jobs) await queues.submit("a", job.run);
    await tick();
    expect(log).toEqual(["start a1", "start a2"]);
    jobs[1]!.finish();
    await tick();
    expect(log).toEqual(["start a1", "start a2", "end a2", "start a3"]);
    jobs[0]!.finish();
    jobs[2]!.finish();
    await queues.drain();
    expect(queues.pending).toBe(0);
    expect(() => new DestinationQueues(1, 0)).toThrow(RangeError);
  });

  it("runs an exclusive job alone, after every earlier job and before every later one", async () => {
    const queues = new DestinationQueues(10, 4);
    const log: string[] = [];
    const [m1, m2, commit, m3, m4] = ["m1", "m2", "commit", "m3", "m4"].map((name) =>
      controlledJob(log, name),
    );
    await queues.submit("a", m1!.run);
    await queues.submit("a", m2!.run);
    await queues.submit("a", commit!.run, { exclusive: true });
    await queues.submit("a", m3!.run);
    await queues.submit("a", m4!.run);
    await tick();
    expect(log).toEqual(["start m1", "start m2"]);
    m2!.finish();
    await tick();
    expect(log).toEqual(["start m1", "start m2", "end m2"]);
    m1!.finish();
    await tick();
    expect(log.slice(3)).toEqual(["end m1", "start commit"]);
    commit!.finish();
    await tick();
    expect(log.slice(5)).toEqual(["end commit", "start m3", "start m4"]);
    m3!.finish();
    m4!.finish();
    await queues.drain();
  });

  it("runs each job in the async context it was submitted from, not its predecessor's", async () => {
    const storage = new AsyncLocalStorage<string>();
    const queues = new DestinationQueues(10, 1);
    const seen: Array<string | undefined> = [];
    const first = controlledJob([], "first");
    await storage.run("trace-1", () =>
      queues.submit("a", async () => {
        seen.push(storage.getStore());
        await first.run();
      }),
    );
    await storage.run("trace-2", () =>
      queues.submit("a", async () => {
        seen.push(storage.getStore());
      }),
    );
    first.finish();
    await queues.drain();
    expect(seen).toEqual(["trace-1", "trace-2"]);
  });

  it("accepts no more than its capacity until a job finishes", async () => {
    const queues = new DestinationQueues(2);
    const log: string[] = [];
    const jobs = ["x", "y", "z"].map((name) => controlledJob(log, name));
    await queues.submit("x", jobs[0]!.run);
    await queues.submit("y", jobs[1]!.run);
    let thirdAccepted = false;
    const third = queues.submit("z", jobs[2]!.run).then(() => {
      thirdAccepted = true;
    });
    await tick();
    expect(thirdAccepted).toBe(false);
    jobs[0]!.finish();
    await third;
    await tick();
    expect(log).toContain("start z");
    jobs[1]!.finish();
    jobs[2]!.finish();
    await queues.drain();
  });

  it("keeps going after a job that throws, and drains at once when idle", async () => {
    const queues = new DestinationQueues(4);
    const done: string[] = [];
    await queues.submit("a", async () => {
      throw new Error("boom");
    });
    await queues.submit("a", async () => {
      done.push("second");
    });
    await queues.drain();
    expect(done).toEqual(["second"]);
    await queues.drain();
    expect(() => new DestinationQueues(0)).toThrow(RangeError);
  });
});
