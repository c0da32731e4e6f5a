import { randomBytes } from "node:crypto";
import { createDomainCa, type DomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import {
  type CiphersuiteImpl,
  type CommitOutput,
  type Credential,
  commit,
  encryptApplicationMessage,
  generateSignatureKeyPair,
  joinFromWelcome,
  loadCiphersuite,
  processIncoming,
  publicRoster,
  selfUpdate,
  toWireObject,
  type ValidateCredential,
  x509Credential,
} from "@mimi/mls";
import type { Sql } from "@mimi/store";
import type { ChannelInboxItem, DeliveryRequest } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leafIdentity } from "../src/sequencer/submitted-mls.js";
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

/**
 * A key update that changes the committer's credential: accepted for a renewed certificate of the
 * same acct and client, refused as `credentialChanged` for anything else. alice (owner), bob (b.test)
 * and carol are members.
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

const client = (name: string) => memberClient(clients, name);
const stateOf = (name: string) => memberState(clients, name);

/** A member's client accepts a changed credential only for the same acct and client, as the MIMI client does. */
async function sameClient(previous: Credential, next: Credential): Promise<boolean> {
  const [before, after] = [leafIdentity(previous), leafIdentity(next)];
  return before.ok && after.ok && before.acct === after.acct && before.clientId === after.clientId;
}

/** Every member but the committer applies an accepted commit. */
async function deliverCommit(committer: string, output: Pick<CommitOutput, "commit" | "newState">) {
  for (const [name, member] of Object.entries(clients)) {
    if (name === committer || !member.state) continue;
    const processed = await processIncoming(member.state, cs, output.commit, {
      allowCredentialChange: sameClient,
    });
    if (!processed.ok || processed.kind !== "commit") throw new Error(`${name} refused the commit`);
    member.state = processed.newState;
  }
  client(committer).state = output.newState;
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

function keyUpdateActivity(by: string, output: CommitOutput) {
  return activity(by, C, {
    type: "Update",
    object: { type: "mimi:KeyUpdate", "mimi:member": by },
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  });
}

/** A certificate from `ca` for `user` and `clientId`, binding `name`'s signature key (or `key`). */
async function certificate(ca: DomainCa, name: string, user: string, clientId: string, key?: Uint8Array) {
  const { chainDer } = await issueClientCertificate(ca, {
    user,
    domain: ca.domain,
    clientId,
    signaturePublicKey: key ?? client(name).keys.publicKey,
  });
  return x509Credential(chainDer);
}

async function leafCertificates() {
  const channel = await ctx.store.channelState(channelId);
  if (!channel) throw new Error("no channel");
  return publicRoster(channel.publicState).map((member) =>
    member.credential.credentialType === "x509"
      ? Buffer.from(member.credential.certificates[0] ?? []).toString("base64")
      : "",
  );
}

async function snapshot() {
  const channel = await ctx.store.channelState(channelId);
  return {
    epoch: channel?.epoch,
    lastSequence: channel?.lastSequence,
    followers: await ctx.store.followers(channelId),
    groupInfo: (await ctx.store.groupInfo(channelId))?.groupInfo,
    leaves: await leafCertificates(),
  };
}

beforeAll(async () => {
  [sql, cas, cs] = await Promise.all([createTestDatabase(), createTestCas(), loadCiphersuite()]);
  bus = recordingBus();
  ctx = createTestContext({ sql, bus, cas }).ctx;
  validateCredential = async (credential, key) => (await ctx.credentials.verify(credential, key)).ok;
  clients.alice = await enrol(cs, cas.a, "alice", actors.alice);
  clients.bob = await enrol(cs, cas.b, "bob", actors.bob);
  clients.carol = await enrol(cs, cas.a, "carol", actors.carol);
  const alice = client("alice");
  alice.state = await newGroup(alice, groupId, cs, validateCredential);
  answerOf(
    await handle(
      inboxItem(channelId, await createChannelActivity(actors.alice, C, "renewals", alice.state, cs)),
    ),
    "Accept",
  );
  for (const name of ["bob", "carol"]) {
    const output = await commit(stateOf("alice"), cs, { add: [client(name).keyPackage] });
    answerOf(
      await handle(inboxItem(channelId, addActivity(actors.alice, C, client(name).actor, output))),
      "Accept",
    );
    await deliverCommit("alice", output);
    if (!output.welcome) throw new Error("no welcome");
    const joined = await joinFromWelcome({
      welcome: output.welcome,
      keyPackage: client(name).keyPackage,
      privateKeyPackage: client(name).privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    if (!joined.ok) throw new Error(joined.detail);
    client(name).state = joined.state;
  }
});

afterAll(async () => {
  await ctx.close();
  await bus.close();
  await sql.close();
});

describe("a key update that changes the committer's credential", () => {
  it("is accepted for a renewed certificate of the same acct and client; members read on", async () => {
    const before = await snapshot();
    const renewed = await certificate(cas.b, "bob", "bob", "bob-phone");
    const output = await selfUpdate(stateOf("bob"), cs, { credential: renewed });
    const published = await handle(inboxItem(channelId, keyUpdateActivity(actors.bob, output), "inbox"));
    expect(answerOf(published, "Accept").activity).toMatchObject({ "mimi:epoch": (before.epoch ?? 0) + 1 });
    if (renewed.credentialType !== "x509") throw new Error("not x509");
    const bobsLeaf = Buffer.from(renewed.certificates[0] ?? []).toString("base64");
    expect(await leafCertificates()).toEqual([before.leaves[0], bobsLeaf, before.leaves[2]]);
    expect(bobsLeaf).not.toBe(before.leaves[1]);

    await deliverCommit("bob", output);
    const sent = await encryptApplicationMessage(stateOf("bob"), cs, new TextEncoder().encode("renewed"));
    client("bob").state = sent.newState;
    answerOf(
      await handle(
        inboxItem(channelId, activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) })),
      ),
      "Accept",
    );
    const read = await processIncoming(stateOf("carol"), cs, sent.message);
    if (!read.ok || read.kind !== "application") throw new Error("carol cannot read bob");
    expect(new TextDecoder().decode(read.data)).toBe("renewed");
    expect(leafIdentity(read.sender.credential)).toEqual({
      ok: true,
      acct: "acct:bob@b.test",
      clientId: "bob-phone",
    });
    client("carol").state = read.newState;
  });

  it("is refused as credentialChanged for another acct, another client or an unknown issuer; nothing moves", async () => {
    const strangerCa = await loadDomainCa(await createDomainCa("a.test"));
    const refusals = [
      {
        name: "another user's identity",
        credential: await certificate(cas.a, "carol", "alice", "alice-phone"),
        summary: /names acct:alice@a\.test/,
      },
      {
        name: "another client of the same user",
        credential: await certificate(cas.a, "carol", "carol", "carol-laptop"),
        summary: /names client carol-laptop/,
      },
      {
        name: "a certificate from a CA a.test does not publish",
        credential: await certificate(strangerCa, "carol", "carol", "carol-phone"),
        summary: /not valid/,
      },
    ];
    for (const refusal of refusals) {
      const before = await snapshot();
      const output = await selfUpdate(stateOf("carol"), cs, { credential: refusal.credential });
      const submitted = keyUpdateActivity(actors.carol, output);
      const published = await handle(inboxItem(channelId, submitted));
      expect(
        published.map((request) => request.activity.type),
        refusal.name,
      ).toEqual(["Reject"]);
      expect(published[0]?.activity, refusal.name).toMatchObject({
        object: submitted.id,
        "mimi:reason": "credentialChanged",
        "mimi:currentEpoch": before.epoch,
        to: [actors.carol],
      });
      expect(String(published[0]?.activity.summary), refusal.name).toMatch(refusal.summary);
      expect(await snapshot(), refusal.name).toEqual(before);
      // Members refuse the same commit, had a server passed it on.
      const atAlice = await processIncoming(stateOf("alice"), cs, output.commit, {
        allowCredentialChange: sameClient,
      });
      expect(atAlice.ok, refusal.name).toBe(false);
    }
  });

  it("still accepts a plain key update, which keeps the credential", async () => {
    const before = await snapshot();
    const output = await selfUpdate(stateOf("carol"), cs);
    answerOf(await handle(inboxItem(channelId, keyUpdateActivity(actors.carol, output))), "Accept");
    expect((await snapshot()).leaves).toEqual(before.leaves);
    await deliverCommit("carol", output);
  });

  it("is accepted with a new signature key too, when the renewed certificate binds it", async () => {
    const before = await snapshot();
    const keys = await generateSignatureKeyPair(cs);
    const renewed = await certificate(cas.a, "carol", "carol", "carol-phone", keys.publicKey);
    const output = await selfUpdate(stateOf("carol"), cs, { credential: renewed, signatureKeyPair: keys });
    answerOf(await handle(inboxItem(channelId, keyUpdateActivity(actors.carol, output))), "Accept");
    const channel = await ctx.store.channelState(channelId);
    if (!channel) throw new Error("no channel");
    const carolsLeaf = publicRoster(channel.publicState)[2];
    expect(Buffer.from(carolsLeaf?.signaturePublicKey ?? []).equals(Buffer.from(keys.publicKey))).toBe(true);
    expect((await snapshot()).epoch).toBe((before.epoch ?? 0) + 1);
    await deliverCommit("carol", output);
    // Her next commit is signed with the new key.
    const next = await selfUpdate(stateOf("carol"), cs);
    answerOf(await handle(inboxItem(channelId, keyUpdateActivity(actors.carol, next))), "Accept");
  });
});
