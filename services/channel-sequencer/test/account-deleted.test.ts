import { randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { commit } from "@mimi/mls";
import type { ChannelInboxItem } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  A,
  actors,
  answerOf,
  deliveryRequests,
  handleToSettled,
  inboxItem,
  removeActivity,
  TestChannel,
} from "./harness.js";

/**
 * The Delete of a member's actor (their account deleted) through the service: alice (owner), bob
 * (b.test) and carol are members. It is bob's departure when bob or b.test's instance actor says it,
 * and changes nothing when anyone else does.
 */

const world = new TestChannel();
const { channelId, url: C, handle, stateOf, membership: snapshot, departedLeavesOf } = world;

/** `Delete{object: actor}` as the deleted account's client posts it: to the channel, no target. */
const deleteOf = (actor: string, fields: Record<string, unknown> = {}) => ({
  "@context": ACTIVITY_CONTEXT,
  id: `${actor}/activities/${randomUUID()}`,
  type: "Delete",
  actor,
  object: actor,
  to: [C],
  ...fields,
});

/** The channel inbox item of `activity` as the inbox passes it on, signed by `signer`. */
const signedBy = (signer: string, submitted: Record<string, unknown>): ChannelInboxItem => ({
  ...inboxItem(channelId, submitted, "sharedInbox"),
  authenticatedActor: signer,
});

beforeAll(() => world.startWithMembers("deleted accounts", ["alice", "bob", "carol"]));

afterAll(() => world.close());

describe("the Delete of a member's actor", () => {
  it("changes nothing when a hostile provider or another user of the origin says it", async () => {
    const before = await snapshot();
    for (const signer of ["http://evil.test/actor", "http://evil.test/users/mallory", actors.dave]) {
      const published = deliveryRequests(world.bus).length;
      // Not the actor's word: dropped with a log line, nobody answered.
      expect(await handleToSettled(world.ctx, signedBy(signer, deleteOf(actors.bob))), signer).toMatchObject({
        kind: "drop",
      });
      expect(deliveryRequests(world.bus).length).toBe(published);
    }
    expect(await snapshot()).toEqual(before);
    expect(await world.ctx.store.isFollower(channelId, actors.bob)).toBe(true);
  });

  it("refuses one that names a target (malformed)", async () => {
    const before = await snapshot();
    const aimed = deleteOf(actors.bob, { target: C });
    const malformed = answerOf(await handle(signedBy(actors.bob, aimed)), "Reject");
    expect(malformed.activity).toMatchObject({ object: aimed.id, "mimi:reason": "malformed" });
    expect(await snapshot()).toEqual(before);
  });

  it("signed by the origin's instance actor, is the member's departure, forwarded to the others", async () => {
    const before = await snapshot();
    const deletion = deleteOf(actors.bob);
    const published = await handle(signedBy("http://b.test/actor", deletion));
    const sequence = (before.lastSequence ?? 0) + 1;
    expect(answerOf(published, "Accept")).toMatchObject({
      audience: ["http://b.test/actor"],
      activity: { object: deletion.id, "mimi:sequence": sequence },
    });
    const forward = published.find((request) => request.activityId === deletion.id);
    // Addressed as a member's activity through the channel, so members' providers accept the forward.
    expect(forward).toMatchObject({
      signAs: C,
      activity: { ...deletion, target: C, to: [C, `${C}/followers`], "mimi:sequence": sequence },
    });
    // Nobody is left to tell at the deleted account.
    expect(forward?.audience.sort()).toEqual([actors.alice, actors.carol].sort());
    expect(await snapshot()).toEqual({
      epoch: before.epoch,
      lastSequence: sequence,
      followers: [actors.alice, actors.carol].sort(),
      roles: { [actors.alice]: "owner", [actors.carol]: "member" },
      departed: [actors.bob],
    });
    expect(await world.ctx.store.isFollower(channelId, actors.bob)).toBe(false);
  });

  it("lets a remaining member commit the Remove of the deleted member's leaves", async () => {
    const before = await snapshot();
    const leaves = await departedLeavesOf(actors.bob);
    expect(leaves.length).toBe(1);
    const output = await commit(stateOf("carol"), world.cs, { remove: leaves });
    const remove = removeActivity(actors.carol, C, actors.bob, output);
    answerOf(await handle(inboxItem(channelId, remove)), "Accept");
    expect(await snapshot()).toMatchObject({ epoch: (before.epoch ?? 0) + 1, departed: [] });
  });

  it("a second one, or one about someone no longer a member, is refused (notAMember)", async () => {
    const before = await snapshot();
    const again = answerOf(await handle(signedBy(actors.bob, deleteOf(actors.bob))), "Reject");
    expect(again.activity).toMatchObject({ "mimi:reason": "notAMember" });
    expect(await snapshot()).toEqual(before);
  });

  it("takes the owner's deleted account out too, and passes the owner role to a remaining member", async () => {
    const before = await snapshot();
    answerOf(await handle(signedBy(`${A}/actor`, deleteOf(actors.alice))), "Accept");
    expect(await snapshot()).toMatchObject({
      epoch: before.epoch,
      followers: [actors.carol],
      roles: { [actors.carol]: "owner" },
      departed: [actors.alice],
    });
  });
});
