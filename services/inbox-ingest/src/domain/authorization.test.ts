import { type ActivityEnvelope, activityEnvelopeSchema } from "@mimi/activitypub";
import { describe, expect, it, vi } from "vitest";
import { authorizeInboxDelivery } from "./authorization.js";

const carol = "https://remote.example/users/carol";
const channel = "https://chat.example/channels/room";

function activity(fields: Record<string, unknown>): ActivityEnvelope {
  return activityEnvelopeSchema.parse({
    id: "https://remote.example/activities/1",
    type: "Create",
    actor: carol,
    ...fields,
  });
}

const signedBy = (keyOwner: string) => ({ keyId: `${keyOwner}#main-key`, keyOwner });
const userTarget = { kind: "user", username: "bob" } as const;

describe("authorizeInboxDelivery", () => {
  it("allows an activity signed by its actor, whatever the inbox", async () => {
    for (const target of [
      userTarget,
      { kind: "shared" } as const,
      { kind: "channel", channelId: "c" } as const,
    ]) {
      await expect(
        authorizeInboxDelivery({ signer: signedBy(carol), activity: activity({}), target }),
      ).resolves.toEqual({
        allow: true,
        basis: "author",
      });
    }
  });

  it("accepts an embedded actor object", async () => {
    const decision = await authorizeInboxDelivery({
      signer: signedBy(carol),
      activity: activity({ actor: { id: carol, type: "Person" } }),
      target: userTarget,
    });
    expect(decision.allow).toBe(true);
  });

  it("denies a signer that is not the actor and forwards nothing", async () => {
    const decision = await authorizeInboxDelivery({
      signer: signedBy("https://remote.example/users/dave"),
      activity: activity({ to: ["https://b.example/users/bob"] }),
      target: userTarget,
    });
    expect(decision).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
  });

  it("denies an activity whose id is on another origin than its actor", async () => {
    const decision = await authorizeInboxDelivery({
      signer: signedBy(carol),
      activity: activity({ id: "https://elsewhere.example/activities/1" }),
      target: userTarget,
    });
    expect(decision).toMatchObject({ allow: false, reason: "activityIdOriginMismatch" });
  });

  describe("forwarding by a channel", () => {
    const forwarded = activity({ to: [`${channel}/followers`] });

    it("denies without a way to check membership", async () => {
      const decision = await authorizeInboxDelivery({
        signer: signedBy(channel),
        activity: forwarded,
        target: userTarget,
      });
      expect(decision).toMatchObject({ allow: false, reason: "channelMembershipUnknown" });
    });

    it("allows when the channel owns a collection in `to` and the actor is a member", async () => {
      const isChannelMember = vi.fn(async () => true);
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: { kind: "shared" } },
        { isChannelMember },
      );
      expect(decision).toEqual({ allow: true, basis: "channelForward" });
      expect(isChannelMember).toHaveBeenCalledWith(channel, carol);
    });

    it("denies when the actor is not a member", async () => {
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: userTarget },
        { isChannelMember: async () => false },
      );
      expect(decision).toMatchObject({ allow: false, reason: "notChannelMember" });
    });

    it("denies when no collection in `to` belongs to the signer", async () => {
      const isChannelMember = vi.fn(async () => true);
      for (const to of [
        ["https://chat.example/channels/other/followers"],
        ["https://chat.example/channels/room-2/followers"],
        [channel],
        [],
      ]) {
        const decision = await authorizeInboxDelivery(
          { signer: signedBy(channel), activity: activity({ to }), target: userTarget },
          { isChannelMember },
        );
        expect(decision).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
      }
      // A collection only in `cc` does not make a forward either.
      const ccOnly = await authorizeInboxDelivery(
        {
          signer: signedBy(channel),
          activity: activity({ cc: [`${channel}/followers`] }),
          target: userTarget,
        },
        { isChannelMember },
      );
      expect(ccOnly).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
      expect(isChannelMember).not.toHaveBeenCalled();
    });

    it("is not accepted at a channel's own inbox", async () => {
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: { kind: "channel", channelId: "room" } },
        { isChannelMember: async () => true },
      );
      expect(decision).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
    });
  });
});
