import { type ActivityEnvelope, activityEnvelopeSchema } from "@mimi/activitypub";
import { describe, expect, it } from "vitest";
import { authorizeInboxDelivery } from "./authorization.js";
import type { ChannelMembersRead } from "./channel-forwarding.js";

/**
 * A channel's forward of the Delete of a member's actor: the channel took it as that account's
 * departure, so its actor is no longer among the members when the forward arrives.
 */
const channel = "https://remote.example/channels/room";
const BOB = "https://c.example/users/bob";
const ALICE = "https://b.example/users/alice";

function deletion(fields: Record<string, unknown> = {}): ActivityEnvelope {
  return activityEnvelopeSchema.parse({
    id: `${BOB}/activities/1`,
    type: "Delete",
    actor: BOB,
    object: BOB,
    target: channel,
    to: [channel, `${channel}/followers`],
    ...fields,
  });
}

const signedBy = (keyOwner: string) => ({ keyId: `${keyOwner}#main-key`, keyOwner });
const members = (list: string[]) => async (): Promise<ChannelMembersRead> => ({
  readable: true,
  members: list,
  fresh: true,
});

describe("a forwarded Delete of an actor", () => {
  it("is accepted from the channel although its actor is no longer among the members", async () => {
    const decision = await authorizeInboxDelivery(
      { signer: signedBy(channel), activity: deletion(), target: { kind: "shared" } },
      { channelMembers: members([ALICE]) },
    );
    expect(decision).toEqual({ allow: true, basis: "channelForward", channel, members: [ALICE] });
  });

  it("is refused when it deletes anything but its own actor, or comes from anyone but the channel", async () => {
    const note = await authorizeInboxDelivery(
      {
        signer: signedBy(channel),
        activity: deletion({ object: `${BOB}/notes/1` }),
        target: { kind: "shared" },
      },
      { channelMembers: members([ALICE]) },
    );
    expect(note).toMatchObject({ allow: false, reason: "notChannelMember" });
    const other = await authorizeInboxDelivery(
      { signer: signedBy("https://evil.example/actor"), activity: deletion(), target: { kind: "shared" } },
      { channelMembers: members([ALICE]) },
    );
    expect(other).toMatchObject({ allow: false });
  });
});
