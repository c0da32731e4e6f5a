import { describe, expect, it } from "vitest";
import { SettlementWindow } from "./settlement-window";

describe("SettlementWindow", () => {
  it("releases only the settled prefix, in offset order", () => {
    const window = new SettlementWindow();
    const first = window.add("10", false);
    window.add("11", true);
    const third = window.add("12", false);
    expect(window.pending).toBe(2);
    expect(window.takeSettledPrefix()).toBeUndefined();
    window.settle(third);
    expect(window.takeSettledPrefix()).toBeUndefined();
    window.settle(first);
    expect(window.takeSettledPrefix()).toBe("12");
    expect(window.size).toBe(0);
    expect(window.pending).toBe(0);
  });

  it("never releases a failed record or anything after it, and remembers the earliest failure", () => {
    const window = new SettlementWindow();
    window.add("1", true);
    const second = window.add("2", false);
    const third = window.add("3", false);
    window.fail(third, new Error("late"));
    window.fail(second, new Error("early"));
    expect(window.pending).toBe(0);
    expect(window.failure?.offset).toBe("2");
    expect(window.takeSettledPrefix()).toBe("1");
    expect(window.takeSettledPrefix()).toBeUndefined();
  });

  it("wakes waiters once fewer records are pending than they asked for", async () => {
    const window = new SettlementWindow();
    const entries = [window.add("1", false), window.add("2", false)];
    let woken = false;
    const waiting = window.whenPendingBelow(2).then(() => {
      woken = true;
    });
    await Promise.resolve();
    expect(woken).toBe(false);
    window.settle(entries[1]!);
    await waiting;
    expect(woken).toBe(true);
    await window.whenPendingBelow(2);
  });

  it("clear forgets every record and wakes every waiter", async () => {
    const window = new SettlementWindow();
    window.add("5", false);
    const waiting = window.whenPendingBelow(1);
    window.clear();
    await waiting;
    expect(window.size).toBe(0);
    expect(window.takeSettledPrefix()).toBeUndefined();
  });

  it("keeps many settled records cheap to release", () => {
    const window = new SettlementWindow();
    for (let offset = 0; offset < 5_000; offset++) window.add(String(offset), true);
    expect(window.takeSettledPrefix()).toBe("4999");
    expect(window.size).toBe(0);
  });
});
