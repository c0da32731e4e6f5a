import { describe, expect, it } from "vitest";
import { MailboxStreamRegistry, streamRegistryOf } from "./stream-registry.js";

const stream = (username: string, bytes = 0) => ({ username, bufferedBytes: () => bytes });

describe("MailboxStreamRegistry", () => {
  it("admits up to the limit per user, refuses one more, and admits again once one is released", () => {
    const registry = new MailboxStreamRegistry(2);
    const first = stream("ann");
    expect(registry.tryOpen(first)).toBe(true);
    expect(registry.tryOpen(stream("ann"))).toBe(true);
    expect(registry.tryOpen(stream("ann"))).toBe(false);
    // Another user's streams are counted on their own.
    expect(registry.tryOpen(stream("bob"))).toBe(true);
    registry.release(first);
    expect(registry.countFor("ann")).toBe(1);
    expect(registry.tryOpen(stream("ann"))).toBe(true);
    expect(registry.all()).toHaveLength(3);
  });

  it("forgets a user whose last stream closed, and is one registry per owner", () => {
    const owner = {};
    const registry = streamRegistryOf(owner, 1);
    const only = stream("cid", 10);
    registry.tryOpen(only);
    expect(streamRegistryOf(owner, 1)).toBe(registry);
    expect(streamRegistryOf({}, 1)).not.toBe(registry);
    registry.release(only);
    registry.release(only);
    expect(registry.countFor("cid")).toBe(0);
    expect(registry.all()).toEqual([]);
  });
});
