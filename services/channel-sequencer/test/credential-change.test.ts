import { createDomainCa, type DomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import {
  type Credential,
  encryptApplicationMessage,
  generateSignatureKeyPair,
  type ProcessOptions,
  processIncoming,
  publicRoster,
  selfUpdate,
  toWireObject,
  x509Credential,
} from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leafIdentity } from "../src/sequencer/submitted-mls.js";
import {
  activity,
  actors,
  answerOf,
  inboxItem,
  keyUpdateActivity,
  type Refusal,
  TestChannel,
} from "./harness.js";

/**
 * A key update that changes the committer's credential: accepted for a renewed certificate of the
 * same acct and client, refused as `credentialChanged` for anything else. alice (owner), bob (b.test)
 * and carol are members.
 */

const world = new TestChannel();
const { channelId, url: C, handle, client, stateOf, deliverCommit, membership } = world;

/** A member's client accepts a changed credential only for the same acct and client, as the MIMI client does. */
async function sameClient(previous: Credential, next: Credential): Promise<boolean> {
  const [before, after] = [leafIdentity(previous), leafIdentity(next)];
  return before.ok && after.ok && before.acct === after.acct && before.clientId === after.clientId;
}

/** How the members process commits here. */
const asMember: ProcessOptions = { allowCredentialChange: sameClient };

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
  const channel = await world.ctx.store.channelState(channelId);
  if (!channel) throw new Error("no channel");
  return publicRoster(channel.publicState).map((member) =>
    member.credential.credentialType === "x509"
      ? Buffer.from(member.credential.certificates[0] ?? []).toString("base64")
      : "",
  );
}

async function snapshot() {
  const { epoch, lastSequence, followers } = await membership();
  return {
    epoch,
    lastSequence,
    followers,
    groupInfo: (await world.ctx.store.groupInfo(channelId))?.groupInfo,
    leaves: await leafCertificates(),
  };
}

beforeAll(() => world.startWithMembers("renewals", ["alice", "bob", "carol"]));

afterAll(() => world.close());

describe("a key update that changes the committer's credential", () => {
  it("is accepted for a renewed certificate of the same acct and client; members read on", async () => {
    const before = await snapshot();
    const renewed = await certificate(world.cas.b, "bob", "bob", "bob-phone");
    const output = await selfUpdate(stateOf("bob"), world.cs, { credential: renewed });
    const published = await handle(inboxItem(channelId, keyUpdateActivity(actors.bob, C, output), "inbox"));
    expect(answerOf(published, "Accept").activity).toMatchObject({ "mimi:epoch": (before.epoch ?? 0) + 1 });
    if (renewed.credentialType !== "x509") throw new Error("not x509");
    const bobsLeaf = Buffer.from(renewed.certificates[0] ?? []).toString("base64");
    expect(await leafCertificates()).toEqual([before.leaves[0], bobsLeaf, before.leaves[2]]);
    expect(bobsLeaf).not.toBe(before.leaves[1]);

    await deliverCommit("bob", output, [], asMember);
    const sent = await encryptApplicationMessage(
      stateOf("bob"),
      world.cs,
      new TextEncoder().encode("renewed"),
    );
    client("bob").state = sent.newState;
    answerOf(
      await handle(
        inboxItem(channelId, activity(actors.bob, C, { type: "Create", object: toWireObject(sent.message) })),
      ),
      "Accept",
    );
    const read = await processIncoming(stateOf("carol"), world.cs, sent.message);
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
    const before = await snapshot();
    if (before.epoch === undefined) throw new Error("no channel");
    const strangerCa = await loadDomainCa(await createDomainCa("a.test"));
    const changes = [
      {
        name: "another user's identity",
        credential: await certificate(world.cas.a, "carol", "alice", "alice-phone"),
        summary: /names acct:alice@a\.test/,
      },
      {
        name: "another client of the same user",
        credential: await certificate(world.cas.a, "carol", "carol", "carol-laptop"),
        summary: /names client carol-laptop/,
      },
      {
        name: "a certificate from a CA a.test does not publish",
        credential: await certificate(strangerCa, "carol", "carol", "carol-phone"),
        summary: /not valid/,
      },
    ];
    const commits: { name: string; commit: Uint8Array }[] = [];
    const refusals: Refusal[] = [];
    for (const { name, credential, summary } of changes) {
      const output = await selfUpdate(stateOf("carol"), world.cs, { credential });
      commits.push({ name, commit: output.commit });
      refusals.push({
        name,
        submitted: keyUpdateActivity(actors.carol, C, output),
        reason: "credentialChanged",
        summary,
        via: "outbox",
      });
    }
    await world.expectRefused(refusals, { currentEpoch: before.epoch, snapshot, before });
    // Members refuse the same commits, had a server passed them on.
    for (const { name, commit } of commits) {
      const atAlice = await processIncoming(stateOf("alice"), world.cs, commit, asMember);
      expect(atAlice.ok, name).toBe(false);
    }
  });

  it("still accepts a plain key update, which keeps the credential", async () => {
    const before = await snapshot();
    const output = await selfUpdate(stateOf("carol"), world.cs);
    answerOf(await handle(inboxItem(channelId, keyUpdateActivity(actors.carol, C, output))), "Accept");
    expect((await snapshot()).leaves).toEqual(before.leaves);
    await deliverCommit("carol", output, [], asMember);
  });

  it("is accepted with a new signature key too, when the renewed certificate binds it", async () => {
    const before = await snapshot();
    const keys = await generateSignatureKeyPair(world.cs);
    const renewed = await certificate(world.cas.a, "carol", "carol", "carol-phone", keys.publicKey);
    const output = await selfUpdate(stateOf("carol"), world.cs, {
      credential: renewed,
      signatureKeyPair: keys,
    });
    answerOf(await handle(inboxItem(channelId, keyUpdateActivity(actors.carol, C, output))), "Accept");
    const channel = await world.ctx.store.channelState(channelId);
    if (!channel) throw new Error("no channel");
    const carolsLeaf = publicRoster(channel.publicState)[2];
    expect(Buffer.from(carolsLeaf?.signaturePublicKey ?? []).equals(Buffer.from(keys.publicKey))).toBe(true);
    expect((await snapshot()).epoch).toBe((before.epoch ?? 0) + 1);
    await deliverCommit("carol", output, [], asMember);
    // Her next commit is signed with the new key.
    const next = await selfUpdate(stateOf("carol"), world.cs);
    answerOf(await handle(inboxItem(channelId, keyUpdateActivity(actors.carol, C, next))), "Accept");
  });
});
