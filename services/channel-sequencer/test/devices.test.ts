import { randomBytes } from "node:crypto";
import {
  type CiphersuiteImpl,
  type ClientState,
  type CommitOutput,
  commit,
  createGroup,
  createGroupInfo,
  encryptApplicationMessage,
  joinByExternalCommit,
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
 * A member's devices through the service: alice (owner) and bob are members; bob's second device
 * joins by external commit (Add{mimi:Device}) and is later taken out by his first (Remove{mimi:Device}).
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
  if (!answer) throw new Error(`no ${type} in ${JSON.stringify(published.map((p) => p.activity.type))}`);
  return answer;
}

async function snapshot() {
  const channel = await ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    lastSequence: channel?.lastSequence,
    members: channel?.members,
    followers: await ctx.store.followers(channelId),
    groupInfo: (await ctx.store.groupInfo(channelId))?.groupInfo,
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
    groupInfo: await createGroupInfo(from, cs),
    keyPackage: joiner.keyPackage,
    privateKeyPackage: joiner.privateKeyPackage,
    cipherSuite: cs,
    validateCredential,
  });
  if (!joined.ok) throw new Error(joined.detail);
  return joined;
}

/** Every member but the committer processes an accepted commit. */
async function deliver(committer: string, output: { commit: Uint8Array; newState: ClientState }) {
  for (const [name, member] of Object.entries(clients)) {
    if (name === committer || !member.state) continue;
    const processed = await processIncoming(member.state, cs, output.commit);
    if (!processed.ok) throw new Error(`${name}: ${processed.detail}`);
    if (processed.kind !== "commit") throw new Error(`${name} saw no commit`);
    member.state = processed.removedFromGroup ? undefined : processed.newState;
  }
  client(committer).state = output.newState;
}

async function addBob(output: CommitOutput) {
  if (!output.welcome) throw new Error("no welcome");
  const added = activity(actors.alice, C, {
    type: "Add",
    object: actors.bob,
    "mimi:commit": toWireObject(output.commit),
    "mimi:welcome": toWireObject(output.welcome),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
  answerOf(await handle(inboxItem(channelId, added)), "Accept");
  client("alice").state = output.newState;
  const joined = await joinFromWelcome({
    welcome: output.welcome,
    keyPackage: client("bob").keyPackage,
    privateKeyPackage: client("bob").privateKeyPackage,
    cipherSuite: cs,
    validateCredential,
  });
  if (!joined.ok) throw new Error(joined.detail);
  client("bob").state = joined.state;
}

beforeAll(async () => {
  [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
  bus = recordingBus();
  ctx = createTestContext({ sql, bus, cas }).ctx;
  validateCredential = async (credential, key) => (await ctx.credentials.verify(credential, key)).ok;
  clients.alice = await enrol(cs, cas.a, "alice", actors.alice);
  clients.bob = await enrol(cs, cas.b, "bob", actors.bob);
  clients.bobLaptop = await enrol(cs, cas.b, "bob", actors.bob);
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
    object: { type: "Service", id: C, name: "devices" },
    "mimi:groupInfo": toWireObject(await createGroupInfo(stateOf("alice"), cs)),
  });
  answerOf(await handle(inboxItem(channelId, create)), "Accept");
  await addBob(await commit(stateOf("alice"), cs, { add: [client("bob").keyPackage] }));
});

afterAll(async () => {
  await ctx.close();
  await bus.close();
  await sql.close();
});

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
    await deliver("bobLaptop", joined);
    const sent = await encryptApplicationMessage(
      stateOf("bobLaptop"),
      cs,
      new TextEncoder().encode("laptop"),
    );
    client("bobLaptop").state = sent.newState;
    const message = activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) });
    answerOf(await handle(inboxItem(channelId, message, "inbox")), "Accept");
    for (const reader of ["alice", "bob"]) {
      const read = await processIncoming(stateOf(reader), cs, sent.message);
      expect(read.ok && read.kind === "application" && new TextDecoder().decode(read.data)).toBe("laptop");
      if (read.ok) client(reader).state = read.newState;
    }
  });

  it("refuses, with mimi:reason and the current epoch, every join it must not order; nothing moves", async () => {
    clients.dave = await enrol(cs, cas.b, "dave", actors.dave);
    clients.bobElsewhere = await enrol(cs, cas.a, "bob", actors.bob);
    clients.bobStale = await enrol(cs, cas.b, "bob", actors.bob);
    clients.bobTablet = await enrol(cs, cas.b, "bob", actors.bob);
    const before = await snapshot();
    const refusals: { name: string; submitted: Record<string, unknown> & { id: string }; reason: string }[] =
      [
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
          submitted: deviceActivity("Add", actors.bob, await commit(stateOf("bob"), cs)),
          reason: "invalidCommit",
        },
        {
          name: "a GroupInfo of another epoch",
          submitted: {
            ...deviceActivity("Add", actors.bob, await externalJoin("bobTablet", stateOf("alice"))),
            "mimi:groupInfo": toWireObject(await createGroupInfo(stateOf("alice"), cs)),
          },
          reason: "groupInfoMismatch",
        },
        {
          name: "a device removal that takes out another member",
          submitted: deviceActivity(
            "Remove",
            actors.alice,
            await commit(stateOf("alice"), cs, { remove: [1] }),
          ),
          reason: "notOwnDevice",
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
        "mimi:currentEpoch": 2,
        "mimi:reason": refusal.reason,
        to: [refusal.submitted.actor],
      });
      expect(await snapshot(), refusal.name).toEqual(before);
    }
  });

  it("lets a member take their own other device out; the followers stay", async () => {
    const before = await snapshot();
    const output = await commit(stateOf("bob"), cs, { remove: [2] });
    const removal = deviceActivity("Remove", actors.bob, output);
    answerOf(await handle(inboxItem(channelId, removal, "inbox")), "Accept");
    await deliver("bob", output);
    expect(client("bobLaptop").state).toBeUndefined();
    const after = await snapshot();
    expect(after.followers).toEqual(before.followers);
    expect(after.members?.map((member) => member.leafIndex)).toEqual([0, 1]);
    expect(after.epoch).toBe(3);
  });

  it("refuses a device join by a user who was removed", async () => {
    const output = await commit(stateOf("alice"), cs, { remove: [1] });
    const removal = activity(actors.alice, C, {
      type: "Remove",
      object: actors.bob,
      "mimi:commit": toWireObject(output.commit),
      "mimi:groupInfo": toWireObject(output.groupInfo),
    });
    answerOf(await handle(inboxItem(channelId, removal)), "Accept");
    await deliver("alice", output);
    const before = await snapshot();
    const rejoin = deviceActivity("Add", actors.bob, await externalJoin("bobTablet", stateOf("alice")));
    const published = await handle(inboxItem(channelId, rejoin, "inbox"));
    expect(answerOf(published, "Reject").activity).toMatchObject({ "mimi:reason": "notAMember" });
    expect(await snapshot()).toEqual(before);
  });
});
