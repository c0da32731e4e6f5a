import { describe, expect, it } from "vitest";
import { type HoldPlan, type PairEffect, type PairEntry, PairQueue } from "./pair-queue.js";

/**
 * Drives one queue against an in-memory stand-in for the store: check, persist, load and unhold are
 * answered at once (unless `manual` lists them), sends are collected for the test to answer.
 */
class Driver {
  /** The stored backlog: names by ordinal. */
  readonly stored: Array<{ ordinal: number; name: string; exclusive: boolean }> = [];
  held = false;
  hold: HoldPlan | undefined;
  readonly sending = new Map<string, PairEntry<string>>();
  /** Every send, in the order they were started. */
  readonly started: string[] = [];
  readonly deferred: PairEffect<string>[] = [];

  constructor(
    readonly queue: PairQueue<string>,
    readonly loadLimit = 3,
    readonly manual: ReadonlySet<PairEffect<string>["kind"]> = new Set(),
  ) {}

  accept(name: string, exclusive = false): void {
    this.run(this.queue.accept(name, exclusive).effects);
  }

  deliver(name: string): void {
    const entry = this.take(name);
    if (entry.stored) this.removeStored(entry.ordinal);
    this.run(this.queue.finished(entry.id));
  }

  fail(name: string, reason = "HTTP 503"): void {
    const entry = this.take(name);
    this.run(this.queue.failed(entry.id, { dueAtMs: 1_000, reason }));
  }

  release(): void {
    this.run(this.queue.release());
  }

  /** Answers the oldest effect held back by `manual`. */
  answer(): void {
    const effect = this.deferred.shift();
    if (!effect) throw new Error("nothing to answer");
    this.run(this.execute(effect));
  }

  storedNames(): string[] {
    return this.stored.map((row) => row.name);
  }

  private take(name: string): PairEntry<string> {
    const entry = this.sending.get(name);
    if (!entry) throw new Error(`${name} is not being sent`);
    this.sending.delete(name);
    return entry;
  }

  private removeStored(ordinal: number): void {
    const index = this.stored.findIndex((row) => row.ordinal === ordinal);
    if (index >= 0) this.stored.splice(index, 1);
  }

  private run(effects: PairEffect<string>[]): void {
    for (const effect of effects) {
      if (effect.kind === "send") {
        this.sending.set(effect.entry.payload, effect.entry);
        this.started.push(effect.entry.payload);
      } else if (this.manual.has(effect.kind)) {
        this.deferred.push(effect);
      } else {
        this.run(this.execute(effect));
      }
    }
  }

  private execute(effect: PairEffect<string>): PairEffect<string>[] {
    switch (effect.kind) {
      case "send":
        return [];
      case "check":
        return this.queue.checked(this.held, this.stored.at(-1)?.ordinal);
      case "persist": {
        this.held = true;
        if (effect.hold) this.hold = effect.hold;
        const assigned = new Map<number, number | undefined>();
        let last = this.stored.at(-1)?.ordinal ?? -1;
        for (const entry of effect.entries) {
          if (this.stored.some((row) => row.name === entry.payload)) {
            assigned.set(entry.id, undefined);
            continue;
          }
          const ordinal = Math.max(entry.ordinal, last + 1);
          last = ordinal;
          this.stored.push({ ordinal, name: entry.payload, exclusive: entry.exclusive });
          assigned.set(entry.id, ordinal);
        }
        return this.queue.persisted(assigned);
      }
      case "load": {
        const rows = this.stored
          .filter((row) => effect.afterOrdinal === undefined || row.ordinal > effect.afterOrdinal)
          .slice(0, this.loadLimit)
          .map((row) => ({ ordinal: row.ordinal, exclusive: row.exclusive, payload: row.name }));
        return this.queue.loaded(rows, this.loadLimit);
      }
      case "unhold": {
        const done = this.stored.length === 0;
        if (done) {
          this.held = false;
          this.hold = undefined;
        }
        return this.queue.unheld(done);
      }
    }
  }
}

const flowing = (window: number, loadLimit?: number) =>
  new Driver(new PairQueue<string>(window, "flowing"), loadLimit);

describe("PairQueue: flowing", () => {
  it("starts jobs in order, at most `window` places ahead of the oldest unfinished one", () => {
    const driver = flowing(2);
    for (const name of ["m1", "m2", "m3", "m4"]) driver.accept(name);
    expect(driver.started).toEqual(["m1", "m2"]);
    // m2 finished first: m3 is still two places after the unfinished m1, so it waits.
    driver.deliver("m2");
    expect(driver.started).toEqual(["m1", "m2"]);
    driver.deliver("m1");
    expect(driver.started).toEqual(["m1", "m2", "m3", "m4"]);
    driver.deliver("m3");
    driver.deliver("m4");
    expect(driver.queue.idle).toBe(true);
    expect(driver.held).toBe(false);
  });

  it("runs a job that may not overtake alone, after every earlier job and before every later one", () => {
    const driver = flowing(4);
    driver.accept("m1");
    driver.accept("m2");
    driver.accept("commit", true);
    driver.accept("m3");
    expect(driver.started).toEqual(["m1", "m2"]);
    driver.deliver("m2");
    driver.deliver("m1");
    expect(driver.started).toEqual(["m1", "m2", "commit"]);
    driver.deliver("commit");
    expect(driver.started).toEqual(["m1", "m2", "commit", "m3"]);
  });
});

describe("PairQueue: a failure holds every later job of the pair", () => {
  it("stores the failed job and everything after it, in order, and sends none of them", () => {
    const driver = flowing(1);
    driver.accept("m1");
    driver.accept("m2");
    driver.fail("m1");
    driver.accept("m3");
    expect(driver.started).toEqual(["m1"]);
    expect(driver.queue.mode).toBe("held");
    expect(driver.storedNames()).toEqual(["m1", "m2", "m3"]);
    expect(driver.hold).toEqual({ dueAtMs: 1_000, reason: "HTTP 503" });
    expect(driver.queue.size).toBe(0);
  });

  it("stores a later job only once the earlier jobs still in flight have an outcome", () => {
    const driver = flowing(3);
    for (const name of ["m1", "m2", "m3", "m4"]) driver.accept(name);
    expect(driver.started).toEqual(["m1", "m2", "m3"]);
    driver.fail("m2");
    // m1 is still in flight: if it fails it must be stored before m2.
    expect(driver.storedNames()).toEqual([]);
    expect(driver.hold).toBeUndefined();
    driver.deliver("m3");
    expect(driver.storedNames()).toEqual([]);
    driver.fail("m1");
    expect(driver.storedNames()).toEqual(["m1", "m2", "m4"]);
    // m4 never went out: it would have been three places ahead of the failed m1.
    expect(driver.started).toEqual(["m1", "m2", "m3"]);
  });

  it("keeps a commit behind the failed message it was sent after", () => {
    const driver = flowing(4);
    driver.accept("m1");
    driver.accept("commit", true);
    driver.accept("m2");
    driver.fail("m1");
    expect(driver.started).toEqual(["m1"]);
    expect(driver.storedNames()).toEqual(["m1", "commit", "m2"]);
    expect(driver.stored.map((row) => row.exclusive)).toEqual([false, true, false]);
  });
});

describe("PairQueue: draining", () => {
  it("sends the backlog in its order when released, then the jobs that arrived meanwhile, then flows", () => {
    const driver = flowing(1, 2);
    for (const name of ["m1", "m2", "m3"]) driver.accept(name);
    driver.fail("m1");
    driver.release();
    expect(driver.queue.mode).toBe("draining");
    driver.accept("m4");
    // Arrivals during the drain go behind the backlog.
    expect(driver.storedNames()).toEqual(["m1", "m2", "m3", "m4"]);
    for (const name of ["m1", "m2", "m3", "m4"]) driver.deliver(name);
    expect(driver.started).toEqual(["m1", "m1", "m2", "m3", "m4"]);
    expect(driver.queue.mode).toBe("flowing");
    expect(driver.held).toBe(false);
    driver.accept("m5");
    expect(driver.started.at(-1)).toBe("m5");
  });

  it("counts the window in request order, so gaps of delivered jobs keep later ones back", () => {
    const driver = flowing(2, 10);
    for (const name of ["m0", "m1", "m2", "m3", "m4", "m5"]) driver.accept(name);
    driver.fail("m0");
    driver.deliver("m1");
    // Stored: m0 (0), m2 (2), m3 (3), m4 (4), m5 (5).
    driver.release();
    expect(driver.started.slice(2)).toEqual(["m0"]);
    driver.deliver("m0");
    expect(driver.started.slice(2)).toEqual(["m0", "m2", "m3"]);
  });

  it("holds the pair again when a backlog job fails; the jobs after it keep their places", () => {
    const driver = flowing(2, 10);
    for (const name of ["m1", "m2", "m3", "m4"]) driver.accept(name);
    driver.fail("m1");
    driver.fail("m2");
    expect(driver.storedNames()).toEqual(["m1", "m2", "m3", "m4"]);
    driver.release();
    expect(driver.started.slice(2)).toEqual(["m1", "m2"]);
    driver.fail("m1", "HTTP 502");
    expect(driver.queue.mode).toBe("held");
    expect(driver.hold?.reason).toBe("HTTP 502");
    driver.deliver("m2");
    driver.accept("m5");
    expect(driver.storedNames()).toEqual(["m1", "m3", "m4", "m5"]);
    driver.release();
    driver.deliver("m1");
    driver.deliver("m3");
    driver.deliver("m4");
    driver.deliver("m5");
    expect(driver.started.slice(4)).toEqual(["m1", "m3", "m4", "m5"]);
    expect(driver.queue.mode).toBe("flowing");
  });

  it("does not read the backlog again while a job of the last drain is still in flight", () => {
    const driver = flowing(2, 10);
    for (const name of ["m1", "m2"]) driver.accept(name);
    driver.fail("m1");
    driver.fail("m2");
    driver.release();
    driver.fail("m1");
    // Due again while m2 is still out: reading now would send m2 a second time, in parallel.
    driver.release();
    expect(driver.queue.mode).toBe("held");
    driver.deliver("m2");
    expect(driver.queue.mode).toBe("draining");
    expect(driver.started.slice(2)).toEqual(["m1", "m2", "m1"]);
  });

  it("drops a job the bus delivered twice when it is already stored", () => {
    const driver = flowing(1);
    driver.accept("m1");
    driver.accept("m2");
    driver.fail("m1");
    driver.accept("m2");
    expect(driver.storedNames()).toEqual(["m1", "m2"]);
    expect(driver.queue.size).toBe(0);
  });
});

describe("PairQueue: restarts", () => {
  it("a new queue asks the store first and puts new jobs behind a backlog stored before the restart", () => {
    const before = flowing(1);
    before.accept("m1");
    before.accept("m2");
    before.fail("m1");
    // The process restarts: a new queue over the same store.
    const after = new Driver(new PairQueue<string>(1, "unknown"), 3, new Set(["check"]));
    after.stored.push(...before.stored);
    after.held = true;
    after.accept("m3");
    after.accept("m4");
    expect(after.started).toEqual([]);
    after.answer();
    expect(after.started).toEqual([]);
    expect(after.storedNames()).toEqual(["m1", "m2", "m3", "m4"]);
    after.release();
    for (const name of ["m1", "m2", "m3", "m4"]) after.deliver(name);
    expect(after.started).toEqual(["m1", "m2", "m3", "m4"]);
    expect(after.held).toBe(false);
  });

  it("a pair that is not held flows once the store said so", () => {
    const driver = new Driver(new PairQueue<string>(2, "unknown"), 3, new Set(["check"]));
    driver.accept("m1");
    expect(driver.started).toEqual([]);
    driver.answer();
    expect(driver.started).toEqual(["m1"]);
  });

  it("a release of a pair this queue saw flowing reads the store, which knows better", () => {
    const driver = flowing(2);
    driver.stored.push({ ordinal: 7, name: "old", exclusive: false });
    driver.held = true;
    driver.release();
    expect(driver.started).toEqual(["old"]);
    driver.accept("new");
    expect(driver.started).toEqual(["old"]);
    driver.deliver("old");
    expect(driver.started).toEqual(["old", "new"]);
    expect(driver.queue.mode).toBe("flowing");
  });

  it("ignores a release of a pair that turned out not to be held", () => {
    const driver = flowing(1);
    driver.release();
    expect(driver.queue.mode).toBe("flowing");
    expect(driver.queue.idle).toBe(true);
  });
});

describe("PairQueue: pairs are independent", () => {
  it("a held pair does not hold another signer's jobs to the same destination", () => {
    const channel = flowing(1);
    const author = flowing(1);
    channel.accept("c1");
    channel.accept("c2");
    author.accept("a1");
    channel.fail("c1");
    author.deliver("a1");
    author.accept("a2");
    expect(channel.started).toEqual(["c1"]);
    expect(author.started).toEqual(["a1", "a2"]);
  });

  it("rejects a window below one", () => {
    expect(() => new PairQueue(0, "flowing")).toThrow(RangeError);
  });
});
