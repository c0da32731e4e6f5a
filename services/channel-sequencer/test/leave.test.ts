import { randomBytes } from "node:crypto";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  commit,
  createGroup,
  createGroupInfo,
  encryptApplicationMessage,
  joinFromWelcome,
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
  createTestCas,
  createTestContext,
  createTestDatabase,
  deliveryRequests,
  enrol,
  handleToSettled,
  inboxItem,
  recordingBus,
  type TestCas,
  type TestClient,
} from "./harness.js";

/** Leaving (Leave{object: C}) through the service: alice (owner), bob (b.test) and carol are members. */

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

function client(name: string): TestClient {
  const found = clients[name];
  if (!found) throw new Error(`no client ${name}`);
  return found;
}

function stateOf(name: string): ClientState {
  const state = client(name).state;
  if (!state) throw new Error(`${name} is not in the group`);
  return state;
}

async function handle(item: ChannelInboxItem): Promise<DeliveryRequest[]> {
  const before = deliveryRequests(bus).length;
  expect(await handleToSettled(ctx, item)).toEqual({ kind: "ok" });
  return deliveryRequests(bus).slice(before);
}

function answerOf(published: DeliveryRequest[], type: "Accept" | "Reject") {
  const answer = published.find((request) => request.activity.type === type);
  if (!answer) throw new Error(`no ${type} in ${JSON.stringify(published.map((p) => p.activity))}`);
  return answer;
}

async function snapshot() {
  const channel = await ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    lastSequence: channel?.lastSequence,
    followers: await ctx.store.followers(channelId),
    roles: Object.fromEntries((await ctx.store.roles(channelId)) ?? []),
    departed: channel?.departed.map((member) => member.actorUrl),
  };
}

async function deliverCommit(committer: string, output: CommitOutput, joiners: string[] = []) {
  for (const [name, member] of Object.entries(clients)) {
    if (name === committer || !member.state || joiners.includes(name)) continue;
    const processed = await processIncoming(member.state, cs, output.commit);
    if (!processed.ok) throw new Error(`${name}: ${processed.detail}`);
    if (processed.kind !== "commit") throw new Error(`${name} saw no commit`);
    member.state = processed.removedFromGroup ? undefined : processed.newState;
  }
  client(committer).state = output.newState;
  for (const name of joiners) {
    if (!output.welcome) throw new Error("no welcome");
    const joiner = client(name);
    const joined = await joinFromWelcome({
      welcome: output.welcome,
      keyPackage: joiner.keyPackage,
      privateKeyPackage: joiner.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    if (!joined.ok) throw new Error(`${name} could not join: ${joined.detail}`);
    joiner.state = joined.state;
  }
}

function addActivity(by: string, actor: string, output: CommitOutput) {
  if (!output.welcome) throw new Error("no welcome");
  return activity(by, C, {
    type: "Add",
    object: actor,
    "mimi:commit": toWireObject(output.commit),
    "mimi:welcome": toWireObject(output.welcome),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

function removeActivity(by: string, actor: string, output: CommitOutput) {
  return activity(by, C, {
    type: "Remove",
    object: actor,
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

const leaveActivity = (by: string, object: unknown = C) => activity(by, C, { type: "Leave", object });

async function add(name: string, actor: string) {
  const output = await commit(stateOf("alice"), cs, { add: [client(name).keyPackage] });
  answerOf(await handle(inboxItem(channelId, addActivity(actors.alice, actor, output))), "Accept");
  await deliverCommit("alice", output, [name]);
}

/** The leaves of `actor` the channel holds as departed (what a member's client finds by credential). */
async function departedLeavesOf(actor: string): Promise<number[]> {
  const channel = await ctx.store.channelState(channelId);
  return (channel?.departed ?? []).filter((m) => m.actorUrl === actor).map((m) => m.leafIndex);
}

/** The current leaves of `actor`. */
async function leavesOf(actor: string): Promise<number[]> {
  const channel = await ctx.store.channelState(channelId);
  return (channel?.members ?? []).filter((m) => m.actorUrl === actor).map((m) => m.leafIndex);
}

beforeAll(async () => {
  [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
  bus = recordingBus();
  ctx = createTestContext({ sql, bus, cas }).ctx;
  validateCredential = async (credential, key) => (await ctx.credentials.verify(credential, key)).ok;
  clients.alice = await enrol(cs, cas.a, "alice", actors.alice);
  clients.carol = await enrol(cs, cas.a, "carol", actors.carol);
  clients.bob = await enrol(cs, cas.b, "bob", actors.bob);
  const alice = client("alice");
  alice.state = await createGroup({
    groupId,
    keyPackage: alice.keyPackage,
    privateKeyPackage: alice.privateKeyPackage,
    cipherSuite: cs,
    validateCredential,
  });
  const create = activity(actors.alice, C, {
    type: "Create",
    object: { type: "Service", id: C, name: "leaving" },
    "mimi:groupInfo": toWireObject(await createGroupInfo(stateOf("alice"), cs)),
  });
  answerOf(await handle(inboxItem(channelId, create)), "Accept");
  await add("bob", actors.bob);
  await add("carol", actors.carol);
});

afterAll(async () => {
  await ctx.close();
  await bus.close();
  await sql.close();
});

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
    expect(await ctx.store.isFollower(channelId, actors.bob)).toBe(false);
    expect((await ctx.store.log(channelId, 0, 100)).at(-1)).toMatchObject({ sequence, epoch: before.epoch });
  });

  it("refuses the leaver's messages, a second Leave and adding them back before the removal is committed", async () => {
    const before = await snapshot();
    const sent = await encryptApplicationMessage(stateOf("bob"), cs, new TextEncoder().encode("still here?"));
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
    const fresh = await enrol(cs, cas.b, "bob", actors.bob);
    const output = await commit(stateOf("alice"), cs, { add: [fresh.keyPackage] });
    const readd = addActivity(actors.alice, actors.bob, output);
    expect(answerOf(await handle(inboxItem(channelId, readd)), "Reject").activity.summary).toMatch(
      /left the channel and their removal is not committed yet/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("lets a plain member commit the Remove of the leaver's leaves; the departure is then complete", async () => {
    const before = await snapshot();
    const leaves = await departedLeavesOf(actors.bob);
    expect(leaves.length).toBe(1);
    const output = await commit(stateOf("carol"), cs, { remove: leaves });
    const remove = removeActivity(actors.carol, actors.bob, output);
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
    const sent = await encryptApplicationMessage(stateOf("alice"), cs, new TextEncoder().encode("just us"));
    client("alice").state = sent.newState;
    const message = activity(actors.alice, C, { type: "Create", object: toWireObject(sent.message) });
    answerOf(await handle(inboxItem(channelId, message)), "Accept");
    const read = await processIncoming(stateOf("carol"), cs, sent.message);
    expect(read.ok && read.kind === "application" && new TextDecoder().decode(read.data)).toBe("just us");
    if (read.ok) client("carol").state = read.newState;
  });

  it("still refuses a plain member removing someone who did not leave", async () => {
    const before = await snapshot();
    const output = await commit(stateOf("carol"), cs, { remove: await leavesOf(actors.alice) });
    const remove = removeActivity(actors.carol, actors.alice, output);
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
