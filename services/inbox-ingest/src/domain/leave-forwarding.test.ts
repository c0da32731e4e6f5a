import { type ActivityEnvelope, activityEnvelopeSchema, providerUrls } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { authorizeInboxDelivery } from "./authorization.js";
import type { ChannelMembersRead } from "./channel-forwarding.js";
import { type AuthorizedDelivery, routeInboxDelivery } from "./inbox-routing.js";

/** A channel's forward of a Leave: its actor has just stopped being a member (docs/channels.md, Leaving). */

const urls = providerUrls("b.example", "https://b.example");
const channel = "https://remote.example/channels/room";
const BOB = "https://b.example/users/bob";
const ALICE = "https://b.example/users/alice";
const carol = "https://remote.example/users/carol";

function activity(fields: Record<string, unknown>): ActivityEnvelope {
  return activityEnvelopeSchema.parse({
    id: "https://b.example/users/bob/activities/1",
    type: "Leave",
    actor: BOB,
    object: channel,
    target: channel,
    to: [`${channel}/followers`],
    ...fields,
  });
}

const signedBy = (keyOwner: string) => ({ keyId: `${keyOwner}#main-key`, keyOwner });
const members = (list: string[]) => async (): Promise<ChannelMembersRead> => ({
  readable: true,
  members: list,
  fresh: true,
});

describe("a forwarded Leave", () => {
  it("is accepted from the channel although its actor is no longer among the members", async () => {
    const decision = await authorizeInboxDelivery(
      { signer: signedBy(channel), activity: activity({}), target: { kind: "user", username: "bob" } },
      { channelMembers: members([ALICE, carol]) },
    );
    expect(decision).toEqual({ allow: true, basis: "channelForward", channel, members: [ALICE, carol] });
  });

  it("is refused when it names another channel as object, or when the members cannot be read", async () => {
    const elsewhere = await authorizeInboxDelivery(
      {
        signer: signedBy(channel),
        activity: activity({ object: "https://remote.example/channels/other" }),
        target: { kind: "shared" },
      },
      { channelMembers: members([ALICE]) },
    );
    expect(elsewhere).toMatchObject({ allow: false, reason: "notChannelMember" });
    const unreadable = await authorizeInboxDelivery(
      { signer: signedBy(channel), activity: activity({}), target: { kind: "shared" } },
      { channelMembers: async () => ({ readable: false, detail: "403" }) },
    );
    expect(unreadable).toMatchObject({ allow: false, reason: "channelMembershipUnknown" });
  });

  it("is refused when signed by anyone but the channel", async () => {
    const decision = await authorizeInboxDelivery(
      { signer: signedBy(carol), activity: activity({}), target: { kind: "shared" } },
      { channelMembers: members([ALICE]) },
    );
    expect(decision).toMatchObject({ allow: false, reason: "notForwardedByChannel" });
  });

  it("reaches the local members and the local leaver, once", () => {
    const forward: AuthorizedDelivery = { sender: channel, basis: "channelForward", members: [ALICE, carol] };
    expect(routeInboxDelivery(urls, { kind: "shared" }, forward, activity({}))).toEqual({
      kind: "forward",
      channel,
      candidates: ["alice", "bob"],
      dedupeTarget: `forward:${channel}`,
    });
    const stillListed: AuthorizedDelivery = { ...forward, members: [ALICE, BOB] };
    expect(routeInboxDelivery(urls, { kind: "shared" }, stillListed, activity({}))).toMatchObject({
      candidates: ["alice", "bob"],
    });
    // Only a Leave adds its actor.
    const message = activity({ type: "Create", actor: carol, id: "https://remote.example/a/1" });
    expect(routeInboxDelivery(urls, { kind: "shared" }, forward, message)).toMatchObject({
      candidates: ["alice"],
    });
  });
});
