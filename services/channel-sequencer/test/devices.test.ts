import {
  type ClientState,
  commit,
  createGroupInfo,
  encryptApplicationMessage,
  joinByExternalCommit,
  processIncoming,
  toWireObject,
} from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, actors, answerOf, enrol, inboxItem, type Refusal, TestChannel } from "./harness.js";

/**
 * A member's devices through the service: alice (owner) and bob are members; bob's second device
 * joins by external commit (Add{mimi:Device}) and is later taken out by his first (Remove{mimi:Device}).
 */

const world = new TestChannel();
const { channelId, url: C, handle, client, stateOf, deliverCommit } = world;

async function snapshot() {
  const channel = await world.ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    lastSequence: channel?.lastSequence,
    members: channel?.members,
    followers: await world.ctx.store.followers(channelId),
    groupInfo: (await world.ctx.store.groupInfo(channelId))?.groupInfo,
  };
}

function deviceActivity(
  type: "Add" | "Remove",
  by: string,
  output: { commit: Uint8Array; groupInfo: Uint8Array },
  member: string = by,
) {
  return activity(by, C, {
    type,
    object: { type: "mimi:Device", "mimi:member": member },
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

/** An external commit by `name`'s client from the GroupInfo of `from`'s current state. */
async function externalJoin(name: string, from: ClientState) {
  const joiner = client(name);
  const joined = await joinByExternalCommit({
    groupInfo: await createGroupInfo(from, world.cs),
    keyPackage: joiner.keyPackage,
    privateKeyPackage: joiner.privateKeyPackage,
    cipherSuite: world.cs,
    validateCredential: world.validateCredential,
  });
  if (!joined.ok) throw new Error(joined.detail);
  return joined;
}

beforeAll(async () => {
  await world.startWithMembers("devices", ["alice", "bob"]);
  await world.enrol("bobLaptop", actors.bob);
});

afterAll(() => world.close());

describe("a member's devices through the channel sequencer", () => {
  let staleGroupInfoState: ClientState | undefined;

  it("accepts a member's new device joining by external commit: a new leaf, the same followers", async () => {
    const before = await snapshot();
    expect(before.epoch).toBe(1);
    staleGroupInfoState = stateOf("alice");
    const joined = await externalJoin("bobLaptop", stateOf("bob"));
    const join = deviceActivity("Add", actors.bob, joined);
    const published = await handle(inboxItem(channelId, join, "inbox"));
    const sequence = (before.lastSequence ?? 0) + 1;
    expect(answerOf(published, "Accept").activity).toMatchObject({
      object: join.id,
      "mimi:epoch": 2,
      "mimi:sequence": sequence,
      to: [actors.bob],
    });
    const forward = published.find((request) => request.activityId === join.id);
    expect(forward).toMatchObject({ activity: { ...join, "mimi:sequence": sequence }, signAs: C });
    expect(forward?.audience.sort()).toEqual([actors.alice, actors.bob].sort());
    const after = await snapshot();
    expect(after.followers).toEqual(before.followers);
    expect(after.members).toEqual([
      { leafIndex: 0, actorUrl: actors.alice, acct: "acct:alice@a.test" },
      { leafIndex: 1, actorUrl: actors.bob, acct: "acct:bob@b.test" },
      { leafIndex: 2, actorUrl: actors.bob, acct: "acct:bob@b.test" },
    ]);
    expect(after.epoch).toBe(2);
    expect(after.groupInfo).toEqual(joined.groupInfo);

    // Every member applies it; the new device sends, alice and bob's first device read it.
    await deliverCommit("bobLaptop", joined);
    const sent = await encryptApplicationMessage(
      stateOf("bobLaptop"),
      world.cs,
      new TextEncoder().encode("laptop"),
    );
    client("bobLaptop").state = sent.newState;
    const message = activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) });
    answerOf(await handle(inboxItem(channelId, message, "inbox")), "Accept");
    for (const reader of ["alice", "bob"]) {
      const read = await processIncoming(stateOf(reader), world.cs, sent.message);
      expect(read.ok && read.kind === "application" && new TextDecoder().decode(read.data)).toBe("laptop");
      if (read.ok) client(reader).state = read.newState;
    }
  });

  it("refuses, with mimi:reason and the current epoch, every join it must not order; nothing moves", async () => {
    await world.enrol("dave", actors.dave);
    // A credential for bob issued by another domain than his.
    world.clients.bobElsewhere = await enrol(world.cs, world.cas.a, "bob", actors.bob);
    await world.enrol("bobStale", actors.bob);
    await world.enrol("bobTablet", actors.bob);
    const before = await snapshot();
    const refusals: Refusal[] = [
      {
        name: "a non-member's device",
        submitted: deviceActivity("Add", actors.dave, await externalJoin("dave", stateOf("alice"))),
        reason: "notAMember",
      },
      {
        name: "a member bringing in a credential of another user",
        submitted: deviceActivity("Add", actors.bob, await externalJoin("dave", stateOf("alice"))),
        reason: "notOwnDevice",
      },
      {
        name: "a credential from another domain than the user's",
        submitted: deviceActivity("Add", actors.bob, await externalJoin("bobElsewhere", stateOf("alice"))),
        reason: "wrongDomain",
      },
      {
        name: "a stale epoch",
        submitted: deviceActivity(
          "Add",
          actors.bob,
          await externalJoin("bobStale", staleGroupInfoState ?? stateOf("alice")),
        ),
        reason: "staleEpoch",
      },
      {
        name: "a join naming another member",
        submitted: deviceActivity(
          "Add",
          actors.bob,
          await externalJoin("bobTablet", stateOf("alice")),
          actors.alice,
        ),
        reason: "notOwnDevice",
      },
      {
        name: "a member commit posing as a device join",
        submitted: deviceActivity("Add", actors.bob, await commit(stateOf("bob"), world.cs)),
        reason: "invalidCommit",
      },
      {
        name: "a GroupInfo of another epoch",
        submitted: {
          ...deviceActivity("Add", actors.bob, await externalJoin("bobTablet", stateOf("alice"))),
          "mimi:groupInfo": toWireObject(await createGroupInfo(stateOf("alice"), world.cs)),
        },
        reason: "groupInfoMismatch",
      },
      {
        name: "a device removal that takes out another member",
        submitted: deviceActivity(
          "Remove",
          actors.alice,
          await commit(stateOf("alice"), world.cs, { remove: [1] }),
        ),
        reason: "notOwnDevice",
      },
    ];
    await world.expectRefused(refusals, { currentEpoch: 2, snapshot, before });
  });

  it("lets a member take their own other device out; the followers stay", async () => {
    const before = await snapshot();
    const output = await commit(stateOf("bob"), world.cs, { remove: [2] });
    const removal = deviceActivity("Remove", actors.bob, output);
    answerOf(await handle(inboxItem(channelId, removal, "inbox")), "Accept");
    await deliverCommit("bob", output);
    expect(client("bobLaptop").state).toBeUndefined();
    const after = await snapshot();
    expect(after.followers).toEqual(before.followers);
    expect(after.members?.map((member) => member.leafIndex)).toEqual([0, 1]);
    expect(after.epoch).toBe(3);
  });

  it("refuses a device join by a user who was removed", async () => {
    const output = await commit(stateOf("alice"), world.cs, { remove: [1] });
    const removal = activity(actors.alice, C, {
      type: "Remove",
      object: actors.bob,
      "mimi:commit": toWireObject(output.commit),
      "mimi:groupInfo": toWireObject(output.groupInfo),
    });
    answerOf(await handle(inboxItem(channelId, removal)), "Accept");
    await deliverCommit("alice", output);
    const before = await snapshot();
    const rejoin = deviceActivity("Add", actors.bob, await externalJoin("bobTablet", stateOf("alice")));
    const published = await handle(inboxItem(channelId, rejoin, "inbox"));
    expect(answerOf(published, "Reject").activity).toMatchObject({ "mimi:reason": "notAMember" });
    expect(await snapshot()).toEqual(before);
  });
});
