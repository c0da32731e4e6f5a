import { describe, expect, it } from "vitest";
import { actorIdOf, channelEntryOf, roleActivity } from "../src/activities.js";

const channel = "http://a.test/channels/abc";

describe("a channel's entry", () => {
  it("is read for what it asks of a member's client", () => {
    expect(channelEntryOf({ type: "Add" })).toEqual({ kind: "commit", type: "Add" });
    expect(channelEntryOf({ type: "Remove" })).toEqual({ kind: "commit", type: "Remove" });
    expect(channelEntryOf({ type: "Create", object: { type: "PrivateMessage" } })).toEqual({
      kind: "message",
    });
    expect(channelEntryOf({ type: "Create", object: { type: "Service", name: "x" } })).toEqual({
      kind: "created",
    });
    expect(channelEntryOf({ type: "Update", object: { type: "Service", name: "lunch" } })).toEqual({
      kind: "renamed",
      name: "lunch",
    });
    const role = roleActivity("http://a.test/users/alice", channel, "http://b.test/users/bob", "admin");
    expect(channelEntryOf(role)).toEqual({ kind: "role", member: "http://b.test/users/bob", role: "admin" });
  });

  it("that cannot be used says why", () => {
    expect(channelEntryOf({ type: "Update", object: { type: "mimi:Role", "mimi:role": "owner" } })).toEqual({
      kind: "unusable",
      reason: "a role change without a member or role",
    });
    expect(channelEntryOf({ type: "Update", object: { type: "Service" } })).toEqual({
      kind: "unusable",
      reason: "unhandled Update activity",
    });
    expect(channelEntryOf({ type: "Like" })).toEqual({ kind: "unusable", reason: "unhandled Like activity" });
    expect(channelEntryOf({})).toEqual({ kind: "unusable", reason: "unhandled typeless activity" });
  });

  it("names its actor for display", () => {
    expect(actorIdOf({ actor: { id: "http://a.test/users/alice" } })).toBe("http://a.test/users/alice");
    expect(actorIdOf({})).toBe("(unknown actor)");
  });
});
