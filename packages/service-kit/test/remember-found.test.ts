import { describe, expect, it } from "vitest";
import { rememberFound } from "../src/remember-found.js";

function countingLookUp(existing: Set<string>) {
  const calls: string[][] = [];
  return {
    calls,
    lookUp: async (names: readonly string[]) => {
      calls.push([...names]);
      return new Set(names.filter((name) => existing.has(name)));
    },
  };
}

describe("rememberFound", () => {
  it("remembers names found until the time-to-live ends, and never a miss", async () => {
    const existing = new Set(["ann"]);
    const counting = countingLookUp(existing);
    let clock = 1_000;
    const lookUp = rememberFound(counting.lookUp, { ttlMs: 500, now: () => clock });
    expect(await lookUp(["ann", "ben"])).toEqual(new Set(["ann"]));
    existing.add("ben");
    expect(await lookUp(["ann", "ben"])).toEqual(new Set(["ann", "ben"]));
    expect(counting.calls).toEqual([["ann", "ben"], ["ben"]]);
    clock += 600;
    await lookUp(["ann"]);
    expect(counting.calls.at(-1)).toEqual(["ann"]);
  });

  it("shares one call among concurrent lookups, each getting its own answer", async () => {
    const counting = countingLookUp(new Set(["ann", "cat"]));
    const lookUp = rememberFound(counting.lookUp, { ttlMs: 1_000 });
    const [first, second] = await Promise.all([lookUp(["ann", "ben"]), lookUp(["cat"])]);
    expect(first).toEqual(new Set(["ann"]));
    expect(second).toEqual(new Set(["cat"]));
    expect(counting.calls).toHaveLength(1);
  });

  it("forgets the oldest name beyond maxEntries", async () => {
    const counting = countingLookUp(new Set(["ann", "ben"]));
    const lookUp = rememberFound(counting.lookUp, { ttlMs: 60_000, maxEntries: 1 });
    await lookUp(["ann"]);
    await lookUp(["ben"]);
    await lookUp(["ben"]);
    await lookUp(["ann"]);
    expect(counting.calls).toEqual([["ann"], ["ben"], ["ann"]]);
  });
});
