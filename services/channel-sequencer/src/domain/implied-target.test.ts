import { describe, expect, it } from "vitest";
import { withFollowersAddressed, withTargetImpliedByInbox } from "./implied-target.js";

const C = "https://a.test/channels/room1";
const F = `${C}/followers`;
const OTHER = "https://a.test/channels/room2";

const message = (fields: Record<string, unknown> = {}) => ({
  id: "https://b.test/users/bob/activities/1",
  type: "Create",
  actor: "https://b.test/users/bob",
  object: { type: "PrivateMessage", content: "AAE=" },
  ...fields,
});

const atChannelInbox = { via: "channelInbox", kind: "message", channelUrl: C, followersUrl: F } as const;

describe("withTargetImpliedByInbox", () => {
  it("gives a message at the channel's own inbox without target the channel as target and F in to", () => {
    const received = message({ to: [F] });
    expect(withTargetImpliedByInbox(received, atChannelInbox)).toEqual({ ...received, target: C, to: [F] });
    expect(received).not.toHaveProperty("target");
  });

  it("adds F to to when the message does not address it", () => {
    expect(withTargetImpliedByInbox(message(), atChannelInbox)).toMatchObject({ target: C, to: [F] });
    expect(withTargetImpliedByInbox(message({ to: C }), atChannelInbox)).toMatchObject({ to: [C, F] });
    expect(
      withTargetImpliedByInbox(message({ to: ["https://b.test/users/bob"] }), atChannelInbox),
    ).toMatchObject({ to: ["https://b.test/users/bob", F] });
  });

  it("treats a null or empty target as missing", () => {
    expect(withTargetImpliedByInbox(message({ target: null }), atChannelInbox)).toMatchObject({ target: C });
    expect(withTargetImpliedByInbox(message({ target: [] }), atChannelInbox)).toMatchObject({ target: C });
  });

  it("leaves a target that is present as it is, another channel's included (the channel refuses it)", () => {
    for (const target of [C, OTHER, { id: OTHER }, { type: "Service" }, [C, OTHER]]) {
      const received = message({ target, to: [F] });
      expect(withTargetImpliedByInbox(received, atChannelInbox)).toBe(received);
    }
  });

  it("supplies nothing at the shared inbox, the outbox or a personal inbox: nothing there names the channel", () => {
    for (const via of ["sharedInbox", "outbox", "inbox"] as const) {
      const received = message({ to: [F] });
      expect(withTargetImpliedByInbox(received, { ...atChannelInbox, via })).toBe(received);
    }
  });

  it("supplies nothing for other kinds: commits, renames, roles and key updates stay strict", () => {
    for (const kind of ["create", "add", "remove", "rename", "role", "keyUpdate", "unsupported"] as const) {
      const received = message({ to: [F] });
      expect(withTargetImpliedByInbox(received, { ...atChannelInbox, kind })).toBe(received);
    }
  });
});

describe("withFollowersAddressed", () => {
  const channel = { channelUrl: C, followersUrl: F };

  it("adds F to the to of any submission whose target is the channel", () => {
    expect(withFollowersAddressed(message({ target: C }), channel)).toMatchObject({ to: [F] });
    expect(withFollowersAddressed(message({ target: C, to: C }), channel)).toMatchObject({ to: [C, F] });
    const add = { ...message({ target: C, to: ["https://b.test/users/carol"] }), type: "Add" };
    expect(withFollowersAddressed(add, channel)).toMatchObject({ to: ["https://b.test/users/carol", F] });
  });

  it("returns the activity as received when F is there, or when the target is not the channel", () => {
    for (const received of [
      message({ target: C, to: [F] }),
      message({ target: C, to: F }),
      message({ target: OTHER, to: ["https://b.test/users/carol"] }),
      message({ target: [C], to: [] }),
      message(),
    ]) {
      expect(withFollowersAddressed(received, channel)).toBe(received);
    }
  });
});
