import { describe, expect, it } from "vitest";
import { createClientListCache, sameClientList } from "../src/client-lists.js";

describe("client list cache", () => {
  it("keeps at most maxUsers lists, dropping the least recently used", () => {
    const cache = createClientListCache(2);
    cache.set("alice", ["a1"]);
    cache.set("bob", ["b1"]);
    expect(cache.get("alice")).toEqual(["a1"]); // alice is now the most recently used
    cache.set("carol", ["c1"]);
    expect(cache.get("bob")).toBeUndefined();
    expect(cache.get("alice")).toEqual(["a1"]);
    expect(cache.size).toBe(2);
    cache.forget("alice");
    expect(cache.get("alice")).toBeUndefined();
  });

  it("compares lists by ids and order", () => {
    expect(sameClientList(["a", "b"], ["a", "b"])).toBe(true);
    expect(sameClientList(["a", "b"], ["b", "a"])).toBe(false);
    expect(sameClientList(["a"], ["a", "b"])).toBe(false);
    expect(sameClientList([], [])).toBe(true);
  });
});
