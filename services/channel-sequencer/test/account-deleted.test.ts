import { randomBytes, randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  commit,
  createGroup,
  createGroupInfo,
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

/**
 * The Delete of a member's actor (their account deleted) through the service: alice (owner), bob
 * (b.test) and carol are members. It is bob's departure when bob or b.test's instance actor says it,
 * and changes nothing when anyone else does.
 */

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

async function add(name: string, actor: string) {
  const output = await commit(stateOf("alice"), cs, { add: [client(name).keyPackage] });
  if (!output.welcome) throw new Error("no welcome");
  const added = activity(actors.alice, C, {
    type: "Add",
    object: actor,
    "mimi:commit": toWireObject(output.commit),
    "mimi:welcome": toWireObject(output.welcome),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
  answerOf(await handle(inboxItem(channelId, added)), "Accept");
  await deliverCommit("alice", output, [name]);
}

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
    object: { type: "Service", id: C, name: "deleted accounts" },
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

describe("the Delete of a member's actor", () => {
  it("changes nothing when a hostile provider or another user of the origin says it", async () => {
    const before = await snapshot();
    for (const signer of ["http://evil.test/actor", "http://evil.test/users/mallory", actors.dave]) {
      const published = deliveryRequests(bus).length;
      // Not the actor's word: dropped with a log line, nobody answered.
      expect(await handleToSettled(ctx, signedBy(signer, deleteOf(actors.bob))), signer).toMatchObject({
        kind: "drop",
      });
      expect(deliveryRequests(bus).length).toBe(published);
    }
    expect(await snapshot()).toEqual(before);
    expect(await ctx.store.isFollower(channelId, actors.bob)).toBe(true);
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
    expect(await ctx.store.isFollower(channelId, actors.bob)).toBe(false);
  });

  it("lets a remaining member commit the Remove of the deleted member's leaves", async () => {
    const before = await snapshot();
    const channel = await ctx.store.channelState(channelId);
    const leaves = (channel?.departed ?? []).filter((m) => m.actorUrl === actors.bob).map((m) => m.leafIndex);
    expect(leaves.length).toBe(1);
    const output = await commit(stateOf("carol"), cs, { remove: leaves });
    const remove = activity(actors.carol, C, {
      type: "Remove",
      object: actors.bob,
      "mimi:commit": toWireObject(output.commit),
      "mimi:groupInfo": toWireObject(output.groupInfo),
    });
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
