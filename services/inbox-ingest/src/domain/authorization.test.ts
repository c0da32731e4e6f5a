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

  describe("an author's own activity about a channel", () => {
    const about = (type: string) => activity({ type, target: channel, to: [`${channel}/followers`] });
    const localChannels = { isLocalChannel: (url: string) => url === channel };

    it("is refused at a user's inbox and at the shared inbox for a channel of another provider", async () => {
      for (const type of ["Add", "Remove", "Update", "Create"]) {
        for (const target of [userTarget, { kind: "shared" } as const]) {
          const decision = await authorizeInboxDelivery({
            signer: signedBy(carol),
            activity: about(type),
            target,
          });
          expect(decision, `${type} at ${target.kind}`).toMatchObject({
            allow: false,
            reason: "channelActivityNotFromChannel",
          });
        }
      }
    });

    it("is a submission at the shared inbox of the channel's own provider and at the channel's inbox", async () => {
      const shared = await authorizeInboxDelivery(
        { signer: signedBy(carol), activity: about("Update"), target: { kind: "shared" } },
        localChannels,
      );
      expect(shared).toEqual({ allow: true, basis: "author" });
      const user = await authorizeInboxDelivery(
        { signer: signedBy(carol), activity: about("Update"), target: userTarget },
        localChannels,
      );
      expect(user).toMatchObject({ allow: false, reason: "channelActivityNotFromChannel" });
      const own = await authorizeInboxDelivery({
        signer: signedBy(carol),
        activity: about("Update"),
        target: { kind: "channel", channelId: "room" },
      });
      expect(own).toEqual({ allow: true, basis: "author" });
    });

    it("is the channel's own word when the channel is the actor (its Accept or Reject)", async () => {
      const accept = activity({
        id: `${channel}/activities/1`,
        type: "Accept",
        actor: channel,
        target: channel,
      });
      await expect(
        authorizeInboxDelivery({ signer: signedBy(channel), activity: accept, target: userTarget }),
      ).resolves.toEqual({ allow: true, basis: "author" });
    });
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
    const followers = `${channel}/followers`;
    const forwarded = activity({ target: channel, to: [followers] });
    const members =
      (list: string[], fresh = true) =>
      async () =>
        ({ readable: true, members: list, fresh }) as const;

    it("denies without a way to check membership", async () => {
      const decision = await authorizeInboxDelivery({
        signer: signedBy(channel),
        activity: forwarded,
        target: userTarget,
      });
      expect(decision).toMatchObject({ allow: false, reason: "channelMembershipUnknown" });
    });

    it("allows when the channel's followers are in `to` and the actor is a member", async () => {
      const channelMembers = vi.fn(members([carol, "https://b.example/users/bob"]));
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: { kind: "shared" } },
        { channelMembers },
      );
      expect(decision).toEqual({
        allow: true,
        basis: "channelForward",
        channel,
        members: [carol, "https://b.example/users/bob"],
      });
      expect(channelMembers).toHaveBeenCalledWith(channel, { refresh: false });
    });

    it("denies when the actor is not a member, after reading the members anew once", async () => {
      const channelMembers = vi.fn(members(["https://b.example/users/bob"], false));
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: userTarget },
        { channelMembers },
      );
      expect(decision).toMatchObject({ allow: false, reason: "notChannelMember" });
      expect(channelMembers.mock.calls).toEqual([
        [channel, { refresh: false }],
        [channel, { refresh: true }],
      ]);
    });

    it("finds a member added since the cached copy by reading anew", async () => {
      const channelMembers = vi
        .fn()
        .mockResolvedValueOnce({ readable: true, members: [], fresh: false })
        .mockResolvedValueOnce({ readable: true, members: [carol], fresh: true });
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: userTarget },
        { channelMembers },
      );
      expect(decision).toMatchObject({ allow: true, basis: "channelForward", members: [carol] });
    });

    it("reads the members anew for Add and Remove, which change them", async () => {
      for (const type of ["Add", "Remove"]) {
        const channelMembers = vi.fn(members([carol]));
        const decision = await authorizeInboxDelivery(
          {
            signer: signedBy(channel),
            activity: activity({
              type,
              object: "https://b.example/users/bob",
              target: channel,
              to: [followers],
            }),
            target: userTarget,
          },
          { channelMembers },
        );
        expect(decision, type).toMatchObject({ allow: true, basis: "channelForward" });
        expect(channelMembers.mock.calls, type).toEqual([[channel, { refresh: true }]]);
      }
    });

    it("accepts a member removing itself, which is no longer in the collection", async () => {
      const leave = activity({ type: "Remove", object: carol, target: channel, to: [followers] });
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: leave, target: userTarget },
        { channelMembers: members(["https://b.example/users/bob"]) },
      );
      expect(decision).toMatchObject({ allow: true, basis: "channelForward" });
      // Removing someone else still requires the remover to be a member.
      const removeOther = activity({
        type: "Remove",
        object: "https://b.example/users/bob",
        target: channel,
        to: [followers],
      });
      const denied = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: removeOther, target: userTarget },
        { channelMembers: members([]) },
      );
      expect(denied).toMatchObject({ allow: false, reason: "notChannelMember" });
    });

    it("refuses a forward whose members cannot be read, a Remove included (fail closed)", async () => {
      const unreadable = async () => ({ readable: false, detail: "403" }) as const;
      const remove = activity({
        type: "Remove",
        object: "https://b.example/users/bob",
        target: channel,
        to: [followers],
      });
      for (const forward of [remove, forwarded]) {
        await expect(
          authorizeInboxDelivery(
            { signer: signedBy(channel), activity: forward, target: userTarget },
            { channelMembers: unreadable },
          ),
        ).resolves.toMatchObject({ allow: false, reason: "channelMembershipUnknown" });
      }
    });

    it("refuses a forward signed by another channel than the one `target` names", async () => {
      const impostor = "https://evil.example/channels/fake";
      const channelMembers = vi.fn(members([carol]));
      for (const forward of [
        // The impostor's own followers in `to`, the real channel in `target`.
        activity({ type: "Update", target: channel, to: [`${impostor}/followers`] }),
        activity({ type: "Update", target: channel, to: [followers] }),
        activity({ type: "Remove", object: carol, target: channel, to: [followers] }),
      ]) {
        const decision = await authorizeInboxDelivery(
          { signer: signedBy(impostor), activity: forward, target: { kind: "shared" } },
          { channelMembers },
        );
        expect(decision).toMatchObject({ allow: false, reason: "notForwardedByChannel" });
      }
      expect(channelMembers).not.toHaveBeenCalled();
    });

    it("refuses a forward without a target, or with several", async () => {
      const channelMembers = vi.fn(members([carol]));
      const untargeted = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: activity({ to: [followers] }), target: userTarget },
        { channelMembers },
      );
      expect(untargeted).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
      const several = await authorizeInboxDelivery(
        {
          signer: signedBy(channel),
          activity: activity({ target: [channel, "https://chat.example/channels/other"], to: [followers] }),
          target: userTarget,
        },
        { channelMembers },
      );
      expect(several).toMatchObject({ allow: false, reason: "ambiguousTarget" });
      expect(channelMembers).not.toHaveBeenCalled();
    });

    it("passes a failing membership read on to the caller", async () => {
      await expect(
        authorizeInboxDelivery(
          { signer: signedBy(channel), activity: forwarded, target: userTarget },
          {
            channelMembers: async () => {
              throw new Error("unreachable");
            },
          },
        ),
      ).rejects.toThrow("unreachable");
    });

    it("denies when the signer's followers collection is not in `to`", async () => {
      const channelMembers = vi.fn(members([carol]));
      for (const to of [
        ["https://chat.example/channels/other/followers"],
        ["https://chat.example/channels/room-2/followers"],
        [`${channel}/members`],
        [channel],
        [],
      ]) {
        const decision = await authorizeInboxDelivery(
          { signer: signedBy(channel), activity: activity({ target: channel, to }), target: userTarget },
          { channelMembers },
        );
        expect(decision).toMatchObject({ allow: false, reason: "notForwardedByChannel" });
      }
      // A collection only in `cc` does not make a forward either.
      const ccOnly = await authorizeInboxDelivery(
        {
          signer: signedBy(channel),
          activity: activity({ target: channel, cc: [followers] }),
          target: userTarget,
        },
        { channelMembers },
      );
      expect(ccOnly).toMatchObject({ allow: false, reason: "notForwardedByChannel" });
      expect(channelMembers).not.toHaveBeenCalled();
    });

    it("is not accepted at a channel's own inbox", async () => {
      const decision = await authorizeInboxDelivery(
        { signer: signedBy(channel), activity: forwarded, target: { kind: "channel", channelId: "room" } },
        { channelMembers: members([carol]) },
      );
      expect(decision).toMatchObject({ allow: false, reason: "keyOwnerMismatch" });
    });
  });
});
