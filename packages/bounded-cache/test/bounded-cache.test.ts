import { describe, expect, it } from "vitest";
import { BoundedCache } from "../src/index.js";

describe("BoundedCache bound", () => {
  it("drops the least recently used entry beyond maxEntries", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
    expect(cache.size).toBe(2);
  });

  it("counts a set of a held key as a use and never holds it twice", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 10);
    cache.set("c", 3);
    expect(cache.size).toBe(2);
    expect(cache.peek("a")).toBe(10);
    expect(cache.peek("b")).toBeUndefined();
  });

  it("leaves the order alone on peek and has", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.peek("a")).toBe(1);
    expect(cache.has("a")).toBe(true);
    cache.set("c", 3);
    expect(cache.has("a")).toBe(false);
    expect(cache.peek("b")).toBe(2);
  });

  it("keeps nothing with maxEntries 0", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 0 });
    cache.set("a", 1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("forgets an entry on delete", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1);
    expect(cache.delete("a")).toBe(true);
    expect(cache.delete("a")).toBe(false);
    expect(cache.get("a")).toBeUndefined();
  });

  it("forgets every entry that matches on deleteWhere, and only those", () => {
    const cache = new BoundedCache<string, { owner: string }>({ maxEntries: 4 });
    cache.set("a#main-key", { owner: "a" });
    cache.set("b#main-key", { owner: "b" });
    cache.set("a#ed25519-key", { owner: "a" });
    expect(cache.deleteWhere((value) => value.owner === "a")).toBe(2);
    expect([cache.has("a#main-key"), cache.has("a#ed25519-key"), cache.has("b#main-key")]).toEqual([
      false,
      false,
      true,
    ]);
    expect(cache.deleteWhere((_value, key) => key.startsWith("c"))).toBe(0);
    expect(cache.size).toBe(1);
  });

  it("refuses a bound or a time-to-live that is not one", () => {
    expect(() => new BoundedCache({ maxEntries: -1 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 1.5 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: Number.NaN })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 1, ttlMs: -1 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 1 }).set("a", 1, { ttlMs: Number.NaN })).toThrow(RangeError);
  });
});

describe("BoundedCache time-to-live", () => {
  it("serves an entry for ttlMs after it was set, however often it is read", () => {
    let clock = 1_000;
    const cache = new BoundedCache<string, number>({ maxEntries: 10, ttlMs: 500, now: () => clock });
    cache.set("a", 1);
    clock = 1_499;
    expect(cache.get("a")).toBe(1);
    expect(cache.has("a")).toBe(true);
    clock = 1_500;
    expect(cache.has("a")).toBe(false);
    expect(cache.peek("a")).toBeUndefined();
    expect(cache.get("a")).toBeUndefined();
  });

  it("drops an expired entry when it is read", () => {
    let clock = 0;
    const cache = new BoundedCache<string, number>({ maxEntries: 10, ttlMs: 10, now: () => clock });
    cache.set("a", 1);
    cache.set("b", 2);
    clock = 10;
    expect(cache.size).toBe(2);
    expect(cache.peek("a")).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("starts the time-to-live again when an entry is set again", () => {
    let clock = 0;
    const cache = new BoundedCache<string, number>({ maxEntries: 10, ttlMs: 10, now: () => clock });
    cache.set("a", 1);
    clock = 8;
    cache.set("a", 2);
    clock = 15;
    expect(cache.get("a")).toBe(2);
  });

  it("gives one entry its own time-to-live", () => {
    let clock = 0;
    const cache = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 100, now: () => clock });
    cache.set("found", "yes");
    cache.set("missing", "no", { ttlMs: 10 });
    clock = 10;
    expect(cache.get("missing")).toBeUndefined();
    expect(cache.get("found")).toBe("yes");
    const forever = new BoundedCache<string, string>({ maxEntries: 10, now: () => clock });
    forever.set("short", "x", { ttlMs: 5 });
    clock = 15;
    expect(forever.get("short")).toBeUndefined();
  });

  it("never expires without a time-to-live, and then never reads the clock", () => {
    let reads = 0;
    const cache = new BoundedCache<string, number>({
      maxEntries: 10,
      now: () => {
        reads += 1;
        return Number.MAX_SAFE_INTEGER;
      },
    });
    cache.set("a", 1);
    expect(cache.get("a")).toBe(1);
    expect(reads).toBe(0);
  });
});
