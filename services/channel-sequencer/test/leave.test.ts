import { commit, encryptApplicationMessage, processIncoming, toWireObject } from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activity,
  actors,
  addActivity,
  answerOf,
  enrol,
  inboxItem,
  removeActivity,
  TestChannel,
} from "./harness.js";

/** Leaving (Leave{object: C}) through the service: alice (owner), bob (b.test) and carol are members. */

const world = new TestChannel();
const {
  channelId,
  url: C,
  handle,
  client,
  stateOf,
  deliverCommit,
  membership: snapshot,
  departedLeavesOf,
} = world;

const leaveActivity = (by: string, object: unknown = C) => activity(by, C, { type: "Leave", object });

/** The current leaves of `actor`. */
async function leavesOf(actor: string): Promise<number[]> {
  const channel = await world.ctx.store.channelState(channelId);
  return (channel?.members ?? []).filter((m) => m.actorUrl === actor).map((m) => m.leafIndex);
}

beforeAll(() => world.startWithMembers("leaving", ["alice", "bob", "carol"]));

afterAll(() => world.close());

describe("leaving a channel", () => {
  it("refuses the owner while others remain, with mimi:reason lastOwner; nothing moves", async () => {
    const before = await snapshot();
    const leave = leaveActivity(actors.alice);
    const reject = answerOf(await handle(inboxItem(channelId, leave)), "Reject");
    expect(reject.activity).toMatchObject({
      object: leave.id,
      "mimi:reason": "lastOwner",
      "mimi:currentEpoch": before.epoch,
      summary: "the channel's owner cannot leave while other members remain",
    });
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a Leave whose object is not the channel (malformed)", async () => {
    const before = await snapshot();
    const leave = leaveActivity(actors.bob, actors.bob);
    const reject = answerOf(await handle(inboxItem(channelId, leave, "sharedInbox")), "Reject");
    expect(reject.activity).toMatchObject({ "mimi:reason": "malformed" });
    expect(await snapshot()).toEqual(before);
  });

  it("records a member's departure at once: no longer a follower, logged, forwarded to members and leaver", async () => {
    const before = await snapshot();
    expect(before.followers).toEqual([actors.carol, actors.alice, actors.bob].sort());
    const leave = leaveActivity(actors.bob);
    const published = await handle(inboxItem(channelId, leave, "sharedInbox"));
    const sequence = (before.lastSequence ?? 0) + 1;
    expect(answerOf(published, "Accept").activity).toMatchObject({
      object: leave.id,
      "mimi:epoch": before.epoch,
      "mimi:sequence": sequence,
      to: [actors.bob],
    });
    const forward = published.find((request) => request.activityId === leave.id);
    expect(forward).toMatchObject({ activity: { ...leave, "mimi:sequence": sequence }, signAs: C });
    expect(forward?.audience.sort()).toEqual([actors.alice, actors.bob, actors.carol].sort());
    expect(await snapshot()).toEqual({
      epoch: before.epoch,
      lastSequence: sequence,
      followers: [actors.alice, actors.carol].sort(),
      roles: { [actors.alice]: "owner", [actors.carol]: "member" },
      departed: [actors.bob],
    });
    expect(await world.ctx.store.isFollower(channelId, actors.bob)).toBe(false);
    expect((await world.ctx.store.log(channelId, 0, 100)).at(-1)).toMatchObject({
      sequence,
      epoch: before.epoch,
    });
  });

  it("refuses the leaver's messages, a second Leave and adding them back before the removal is committed", async () => {
    const before = await snapshot();
    const sent = await encryptApplicationMessage(
      stateOf("bob"),
      world.cs,
      new TextEncoder().encode("still here?"),
    );
    const message = activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) });
    expect(
      answerOf(await handle(inboxItem(channelId, message, "sharedInbox")), "Reject").activity,
    ).toMatchObject({
      summary: `${actors.bob} is not a member of the channel`,
    });
    const again = leaveActivity(actors.bob);
    expect(
      answerOf(await handle(inboxItem(channelId, again, "sharedInbox")), "Reject").activity,
    ).toMatchObject({
      "mimi:reason": "notAMember",
    });
    const fresh = await enrol(world.cs, world.cas.b, "bob", actors.bob);
    const output = await commit(stateOf("alice"), world.cs, { add: [fresh.keyPackage] });
    const readd = addActivity(actors.alice, C, actors.bob, output);
    expect(answerOf(await handle(inboxItem(channelId, readd)), "Reject").activity.summary).toMatch(
      /left the channel and their removal is not committed yet/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("lets a plain member commit the Remove of the leaver's leaves; the departure is then complete", async () => {
    const before = await snapshot();
    const leaves = await departedLeavesOf(actors.bob);
    expect(leaves.length).toBe(1);
    const output = await commit(stateOf("carol"), world.cs, { remove: leaves });
    const remove = removeActivity(actors.carol, C, actors.bob, output);
    const published = await handle(inboxItem(channelId, remove));
    expect(answerOf(published, "Accept").activity).toMatchObject({ "mimi:epoch": (before.epoch ?? 0) + 1 });
    expect(await snapshot()).toEqual({
      ...before,
      epoch: (before.epoch ?? 0) + 1,
      lastSequence: (before.lastSequence ?? 0) + 1,
      departed: [],
    });
    await deliverCommit("carol", output);
    expect(client("bob").state).toBeUndefined();

    // The remaining members keep talking at the new epoch.
    const sent = await encryptApplicationMessage(
      stateOf("alice"),
      world.cs,
      new TextEncoder().encode("just us"),
    );
    client("alice").state = sent.newState;
    const message = activity(actors.alice, C, { type: "Create", object: toWireObject(sent.message) });
    answerOf(await handle(inboxItem(channelId, message)), "Accept");
    const read = await processIncoming(stateOf("carol"), world.cs, sent.message);
    expect(read.ok && read.kind === "application" && new TextDecoder().decode(read.data)).toBe("just us");
    if (read.ok) client("carol").state = read.newState;
  });

  it("still refuses a plain member removing someone who did not leave", async () => {
    const before = await snapshot();
    const output = await commit(stateOf("carol"), world.cs, { remove: await leavesOf(actors.alice) });
    const remove = removeActivity(actors.carol, C, actors.alice, output);
    expect(answerOf(await handle(inboxItem(channelId, remove)), "Reject").activity.summary).toBe(
      "only the channel's owner or an admin may remove other members",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("lets the owner leave once alone", async () => {
    const carolLeaves = leaveActivity(actors.carol);
    answerOf(await handle(inboxItem(channelId, carolLeaves)), "Accept");
    const aliceLeaves = leaveActivity(actors.alice);
    answerOf(await handle(inboxItem(channelId, aliceLeaves)), "Accept");
    const after = await snapshot();
    expect(after.followers).toEqual([]);
    expect(after.departed?.sort()).toEqual([actors.alice, actors.carol].sort());
  });
});
