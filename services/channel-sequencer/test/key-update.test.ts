import {
  type ClientState,
  commit,
  createGroupInfo,
  encryptApplicationMessage,
  processIncoming,
  toWireObject,
} from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activity,
  actors,
  answerOf,
  deliveryRequests,
  inboxItem,
  keyUpdateActivity,
  type Refusal,
  TestChannel,
} from "./harness.js";

/** Key updates (Update{mimi:KeyUpdate}) through the service: alice (owner), bob and carol are members. */

const world = new TestChannel();
const { channelId, url: C, handle, client, stateOf, deliverCommit, membership } = world;

async function snapshot() {
  return { ...(await membership()), groupInfo: (await world.ctx.store.groupInfo(channelId))?.groupInfo };
}

beforeAll(async () => {
  await world.startWithMembers("keys", ["alice", "bob", "carol"]);
  await world.enrol("dave", actors.dave);
});

afterAll(() => world.close());

describe("key updates through the channel sequencer", () => {
  let bobBeforeUpdate: ClientState | undefined;

  it("accepts a member's update of their own leaf: epoch + 1, logged, forwarded to every member", async () => {
    const before = await snapshot();
    expect(before.epoch).toBe(2);
    bobBeforeUpdate = stateOf("bob");
    const output = await commit(stateOf("bob"), world.cs);
    const update = keyUpdateActivity(actors.bob, C, output);
    const published = await handle(inboxItem(channelId, update, "inbox"));
    const sequence = (before.lastSequence ?? 0) + 1;
    expect(answerOf(published, "Accept").activity).toMatchObject({
      object: update.id,
      "mimi:epoch": 3,
      "mimi:sequence": sequence,
      to: [actors.bob],
    });
    const forward = published.find((request) => request.activityId === update.id);
    expect(forward).toMatchObject({ activity: { ...update, "mimi:sequence": sequence }, signAs: C });
    expect(forward?.audience.sort()).toEqual(before.followers);
    const after = await snapshot();
    expect(after).toEqual({
      ...before,
      epoch: 3,
      lastSequence: sequence,
      groupInfo: output.groupInfo,
    });
    expect((await world.ctx.store.log(channelId, 0, 100)).at(-1)).toMatchObject({ sequence, epoch: 3 });

    // The other members apply it; a message bob sends at the new epoch is accepted and readable.
    await deliverCommit("bob", output);
    const sent = await encryptApplicationMessage(
      stateOf("bob"),
      world.cs,
      new TextEncoder().encode("new keys"),
    );
    client("bob").state = sent.newState;
    const message = activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) });
    answerOf(await handle(inboxItem(channelId, message, "inbox")), "Accept");
    const read = await processIncoming(stateOf("alice"), world.cs, sent.message);
    expect(read.ok && read.kind === "application" && new TextDecoder().decode(read.data)).toBe("new keys");
    if (read.ok) client("alice").state = read.newState;
  });

  it("refuses, with mimi:reason and the current epoch, every key update it must not order; nothing moves", async () => {
    const before = await snapshot();
    const bobsNext = await commit(stateOf("bob"), world.cs);
    const refusals: Refusal[] = [
      {
        name: "a non-member",
        submitted: keyUpdateActivity(actors.dave, C, bobsNext),
        reason: "notAMember",
      },
      {
        name: "a key update naming another member",
        submitted: keyUpdateActivity(actors.carol, C, await commit(stateOf("carol"), world.cs), actors.bob),
        reason: "notOwnLeaf",
      },
      {
        name: "someone else's leaf",
        submitted: keyUpdateActivity(actors.carol, C, bobsNext),
        reason: "notOwnLeaf",
      },
      {
        name: "a commit that adds",
        submitted: keyUpdateActivity(
          actors.alice,
          C,
          await commit(stateOf("alice"), world.cs, { add: [client("dave").keyPackage] }),
        ),
        reason: "changesMembership",
      },
      {
        name: "a commit that removes",
        submitted: keyUpdateActivity(
          actors.alice,
          C,
          await commit(stateOf("alice"), world.cs, { remove: [2] }),
        ),
        reason: "changesMembership",
      },
      {
        name: "a stale epoch",
        submitted: keyUpdateActivity(
          actors.bob,
          C,
          await commit(bobBeforeUpdate ?? stateOf("bob"), world.cs),
        ),
        reason: "staleEpoch",
      },
      {
        name: "a GroupInfo of another epoch",
        submitted: {
          ...keyUpdateActivity(actors.bob, C, bobsNext),
          "mimi:groupInfo": toWireObject(await createGroupInfo(stateOf("bob"), world.cs)),
        },
        reason: "groupInfoMismatch",
      },
      {
        name: "no commit",
        submitted: { ...keyUpdateActivity(actors.bob, C, bobsNext), "mimi:commit": undefined },
        reason: "malformed",
      },
    ];
    await world.expectRefused(refusals, { currentEpoch: 3, snapshot, before });
  });

  it("of two key updates for one epoch handled concurrently, accepts one and refuses the other as stale", async () => {
    const byBob = keyUpdateActivity(actors.bob, C, await commit(stateOf("bob"), world.cs));
    const byCarol = keyUpdateActivity(actors.carol, C, await commit(stateOf("carol"), world.cs));
    const start = deliveryRequests(world.bus).length;
    await Promise.all([
      handle(inboxItem(channelId, byBob, "inbox")),
      handle(inboxItem(channelId, byCarol, "inbox")),
    ]);
    // Both handlers publish into one bus: the answers are told apart by the activity they answer.
    const answers = deliveryRequests(world.bus)
      .slice(start)
      .filter((request) => [byBob.id, byCarol.id].includes(String(request.activity.object)));
    expect(answers.map((request) => request.activity.type).sort()).toEqual(["Accept", "Reject"]);
    expect(answerOf(answers, "Reject").activity).toMatchObject({
      "mimi:currentEpoch": 4,
      "mimi:reason": "staleEpoch",
    });
    expect((await snapshot()).epoch).toBe(4);
  });
});
