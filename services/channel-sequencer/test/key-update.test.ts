import { randomBytes } from "node:crypto";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  commit,
  createGroupInfo,
  encryptApplicationMessage,
  loadCiphersuite,
  processIncoming,
  toWireObject,
  type ValidateCredential,
} from "@mimi/mls";
import type { Sql } from "@mimi/store";
import type { ChannelInboxItem, DeliveryRequest } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChannelSequencerContext } from "../src/service.js";
import {
  A,
  activity,
  actors,
  addActivity,
  createChannelActivity,
  createTestCas,
  createTestContext,
  createTestDatabase,
  deliverToMembers,
  deliveryRequests,
  enrol,
  handleToSettled,
  inboxItem,
  memberClient,
  memberState,
  newGroup,
  recordingBus,
  type TestCas,
  type TestClient,
} from "./harness.js";

/** Key updates (Update{mimi:KeyUpdate}) through the service: alice (owner), bob and carol are members. */

let sql: Sql;
let cas: TestCas;
let cs: CiphersuiteImpl;
let bus: ReturnType<typeof recordingBus>;
let ctx: ChannelSequencerContext;
let validateCredential: ValidateCredential;
const clients: Record<string, TestClient> = {};

const groupId = randomBytes(16);
const channelId = groupId.toString("base64url");
const C = `${A}/channels/${channelId}`;

const client = (name: string) => memberClient(clients, name);
const stateOf = (name: string) => memberState(clients, name);
/** Everyone in the group but the committer processes an accepted commit; joiners use the Welcome. */
const deliverCommit = (committer: string, output: CommitOutput, joiners: string[] = []) =>
  deliverToMembers({ clients, cs, validateCredential }, committer, output, joiners);

async function handle(item: ChannelInboxItem): Promise<DeliveryRequest[]> {
  const before = deliveryRequests(bus).length;
  expect(await handleToSettled(ctx, item)).toEqual({ kind: "ok" });
  return deliveryRequests(bus).slice(before);
}

function answerOf(published: DeliveryRequest[], type: "Accept" | "Reject") {
  const answer = published.find((request) => request.activity.type === type);
  if (!answer) throw new Error(`no ${type} in ${JSON.stringify(published.map((p) => p.activity.type))}`);
  return answer;
}

async function snapshot() {
  const channel = await ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    lastSequence: channel?.lastSequence,
    followers: await ctx.store.followers(channelId),
    roles: Object.fromEntries((await ctx.store.roles(channelId)) ?? []),
    groupInfo: (await ctx.store.groupInfo(channelId))?.groupInfo,
  };
}

function keyUpdateActivity(by: string, output: CommitOutput, member: string = by) {
  return activity(by, C, {
    type: "Update",
    object: { type: "mimi:KeyUpdate", "mimi:member": member },
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

async function add(name: string, actor: string) {
  const output = await commit(stateOf("alice"), cs, { add: [client(name).keyPackage] });
  const added = addActivity(actors.alice, C, actor, output);
  answerOf(await handle(inboxItem(channelId, added)), "Accept");
  await deliverCommit("alice", output, [name]);
}

beforeAll(async () => {
  [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
  bus = recordingBus();
  ctx = createTestContext({ sql, bus, cas }).ctx;
  validateCredential = async (credential, key) => (await ctx.credentials.verify(credential, key)).ok;
  clients.alice = await enrol(cs, cas.a, "alice", actors.alice);
  clients.carol = await enrol(cs, cas.a, "carol", actors.carol);
  clients.bob = await enrol(cs, cas.b, "bob", actors.bob);
  clients.dave = await enrol(cs, cas.b, "dave", actors.dave);
  const alice = client("alice");
  alice.state = await newGroup(alice, groupId, cs, validateCredential);
  const create = await createChannelActivity(actors.alice, C, "keys", stateOf("alice"), cs);
  answerOf(await handle(inboxItem(channelId, create)), "Accept");
  await add("bob", actors.bob);
  await add("carol", actors.carol);
});

afterAll(async () => {
  await ctx.close();
  await bus.close();
  await sql.close();
});

describe("key updates through the channel sequencer", () => {
  let bobBeforeUpdate: ClientState | undefined;

  it("accepts a member's update of their own leaf: epoch + 1, logged, forwarded to every member", async () => {
    const before = await snapshot();
    expect(before.epoch).toBe(2);
    bobBeforeUpdate = stateOf("bob");
    const output = await commit(stateOf("bob"), cs);
    const update = keyUpdateActivity(actors.bob, output);
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
    expect((await ctx.store.log(channelId, 0, 100)).at(-1)).toMatchObject({ sequence, epoch: 3 });

    // The other members apply it; a message bob sends at the new epoch is accepted and readable.
    await deliverCommit("bob", output);
    const sent = await encryptApplicationMessage(stateOf("bob"), cs, new TextEncoder().encode("new keys"));
    client("bob").state = sent.newState;
    const message = activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) });
    answerOf(await handle(inboxItem(channelId, message, "inbox")), "Accept");
    const read = await processIncoming(stateOf("alice"), cs, sent.message);
    expect(read.ok && read.kind === "application" && new TextDecoder().decode(read.data)).toBe("new keys");
    if (read.ok) client("alice").state = read.newState;
  });

  it("refuses, with mimi:reason and the current epoch, every key update it must not order; nothing moves", async () => {
    const before = await snapshot();
    const bobsNext = await commit(stateOf("bob"), cs);
    const refusals: { name: string; submitted: Record<string, unknown> & { id: string }; reason: string }[] =
      [
        {
          name: "a non-member",
          submitted: keyUpdateActivity(actors.dave, bobsNext),
          reason: "notAMember",
        },
        {
          name: "a key update naming another member",
          submitted: keyUpdateActivity(actors.carol, await commit(stateOf("carol"), cs), actors.bob),
          reason: "notOwnLeaf",
        },
        {
          name: "someone else's leaf",
          submitted: keyUpdateActivity(actors.carol, bobsNext),
          reason: "notOwnLeaf",
        },
        {
          name: "a commit that adds",
          submitted: keyUpdateActivity(
            actors.alice,
            await commit(stateOf("alice"), cs, { add: [client("dave").keyPackage] }),
          ),
          reason: "changesMembership",
        },
        {
          name: "a commit that removes",
          submitted: keyUpdateActivity(actors.alice, await commit(stateOf("alice"), cs, { remove: [2] })),
          reason: "changesMembership",
        },
        {
          name: "a stale epoch",
          submitted: keyUpdateActivity(actors.bob, await commit(bobBeforeUpdate ?? stateOf("bob"), cs)),
          reason: "staleEpoch",
        },
        {
          name: "a GroupInfo of another epoch",
          submitted: {
            ...keyUpdateActivity(actors.bob, bobsNext),
            "mimi:groupInfo": toWireObject(await createGroupInfo(stateOf("bob"), cs)),
          },
          reason: "groupInfoMismatch",
        },
        {
          name: "no commit",
          submitted: { ...keyUpdateActivity(actors.bob, bobsNext), "mimi:commit": undefined },
          reason: "malformed",
        },
      ];
    for (const refusal of refusals) {
      const published = await handle(inboxItem(channelId, refusal.submitted, "inbox"));
      expect(
        published.map((request) => request.activity.type),
        refusal.name,
      ).toEqual(["Reject"]);
      expect(published[0]?.activity, refusal.name).toMatchObject({
        actor: C,
        object: refusal.submitted.id,
        "mimi:currentEpoch": 3,
        "mimi:reason": refusal.reason,
        to: [refusal.submitted.actor],
      });
      expect(await snapshot(), refusal.name).toEqual(before);
    }
  });

  it("of two key updates for one epoch handled concurrently, accepts one and refuses the other as stale", async () => {
    const byBob = keyUpdateActivity(actors.bob, await commit(stateOf("bob"), cs));
    const byCarol = keyUpdateActivity(actors.carol, await commit(stateOf("carol"), cs));
    const start = deliveryRequests(bus).length;
    await Promise.all([
      handle(inboxItem(channelId, byBob, "inbox")),
      handle(inboxItem(channelId, byCarol, "inbox")),
    ]);
    // Both handlers publish into one bus: the answers are told apart by the activity they answer.
    const answers = deliveryRequests(bus)
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
