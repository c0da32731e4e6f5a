import { describe, expect, it } from "vitest";
import type { MailboxItem } from "../src/api.js";
import { checkDelivery, isWelcomeFor } from "../src/sync/delivery.js";

const channel = "http://a.test/channels/abc";
const alice = "http://a.test/users/alice";
const bob = "http://b.test/users/bob";

const item = (activity: Record<string, unknown>, deliveredBy?: string): MailboxItem => ({
  cursor: 1,
  activityId: "x",
  activity,
  ...(deliveredBy ? { deliveredBy } : {}),
  receivedAt: "2026-01-01T00:00:00.000Z",
});

describe("a channel's answer", () => {
  it("counts when the channel delivered it itself", () => {
    expect(checkDelivery(item({ type: "Accept", actor: channel }, channel))).toEqual({
      kind: "verdict",
      type: "Accept",
      channelUrl: channel,
    });
    expect(checkDelivery(item({ type: "Reject", actor: { id: channel } }, channel))).toEqual({
      kind: "verdict",
      type: "Reject",
      channelUrl: channel,
    });
  });

  it("is refused when anyone else delivered it, or when it names no channel", () => {
    expect(checkDelivery(item({ type: "Accept", actor: channel }, alice))).toEqual({
      kind: "refused",
      reason: `a Accept from ${channel} that the channel did not deliver itself`,
    });
    expect(checkDelivery(item({ type: "Reject", actor: channel }))).toEqual({
      kind: "refused",
      reason: `a Reject from ${channel} that the channel did not deliver itself`,
    });
    expect(checkDelivery(item({ type: "Accept" }, channel))).toEqual({
      kind: "refused",
      reason: "a Accept from nobody that the channel did not deliver itself",
    });
  });
});

describe("an activity about a channel", () => {
  it("counts when the channel it targets delivered it", () => {
    expect(checkDelivery(item({ type: "Add", actor: alice, target: channel }, channel))).toEqual({
      kind: "channel",
      channelUrl: channel,
    });
  });

  it("is refused when its author or any other sender delivered it", () => {
    for (const sender of [alice, "http://evil.test/channels/abc", undefined])
      expect(checkDelivery(item({ type: "Create", actor: alice, target: channel }, sender))).toEqual({
        kind: "refused",
        reason: `an activity about ${channel} delivered by ${sender ?? "an unknown sender"}, not by the channel`,
      });
  });

  it("is refused without a channel", () => {
    expect(checkDelivery(item({ type: "Create", actor: alice }, alice))).toEqual({
      kind: "refused",
      reason: "a Create activity without a channel",
    });
    expect(checkDelivery(item({}, alice))).toEqual({
      kind: "refused",
      reason: "a typeless activity without a channel",
    });
  });
});

describe("a Welcome", () => {
  it("is an Add that names us and carries a Welcome", () => {
    const add = { type: "Add", object: bob, target: channel, "mimi:welcome": { type: "Welcome" } };
    expect(isWelcomeFor(add, bob)).toBe(true);
    expect(isWelcomeFor(add, alice)).toBe(false);
    expect(isWelcomeFor({ ...add, "mimi:welcome": undefined }, bob)).toBe(false);
    expect(isWelcomeFor({ ...add, type: "Remove" }, bob)).toBe(false);
  });
});

describe("a group DM's message", () => {
  const message = {
    type: "Create",
    actor: bob,
    context: channel,
    to: [alice, bob],
    object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAE=" },
  };

  it("goes to the DM checks of its group, whoever delivered it (they check the signer)", () => {
    expect(checkDelivery(item(message, bob))).toEqual({ kind: "dm", groupUrl: channel });
    expect(checkDelivery(item(message, alice))).toEqual({ kind: "dm", groupUrl: channel });
  });

  it("with a target is a channel's entry, under the channel's rule", () => {
    expect(checkDelivery(item({ ...message, target: channel }, bob))).toEqual({
      kind: "refused",
      reason: `an activity about ${channel} delivered by ${bob}, not by the channel`,
    });
  });
});
