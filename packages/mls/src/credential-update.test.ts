import type { CiphersuiteImpl, ClientState, Credential } from "ts-mls";
import { beforeAll, describe, expect, it } from "vitest";
import {
  basicCredential,
  commit,
  createGroup,
  createGroupInfo,
  encryptApplicationMessage,
  generateSignatureKeyPair,
  joinFromWelcome,
  ownLeafIndex,
  processIncoming,
  roster,
  selfUpdate,
} from "./client.js";
import { loadCiphersuite } from "./crypto.js";
import {
  applyCommit,
  checkGroupInfoMatches,
  inspectCommit,
  type PublicGroupState,
  publicGroupFromGroupInfo,
  publicRoster,
  type VerifyOptions,
} from "./public-group.js";
import { identityOf, makeTestClient, rejectIdentities, type TestClient } from "./test-support.js";

/**
 * A member renews its credential in a group it is in: a self-update whose new leaf carries another
 * credential. Identities here are "<name>#<certificate serial>": a renewal keeps the name.
 */

const groupId = new TextEncoder().encode("channel-credential-update");
// "alice#revoked" stands for a credential the issuers do not vouch for.
const validateCredential = rejectIdentities("alice#revoked");
const nameOf = (credential: Credential) => identityOf(credential).split("#")[0];
const sameName = async (previous: Credential, next: Credential) => nameOf(previous) === nameOf(next);

function stateOf(client: TestClient): ClientState {
  if (client.state === undefined) throw new Error(`${client.name} has no state`);
  return client.state;
}

function ownIdentity(state: ClientState): string {
  const own = roster(state).find((member) => member.leafIndex === ownLeafIndex(state));
  return own === undefined ? "" : identityOf(own.credential);
}

describe("a self-update carrying a renewed credential", () => {
  let cs: CiphersuiteImpl;
  let alice: TestClient;
  let bob: TestClient;
  let observer: PublicGroupState;
  const serverOptions = (): VerifyOptions => ({ validateCredential, allowCredentialChange: sameName });

  beforeAll(async () => {
    cs = await loadCiphersuite();
    alice = await makeTestClient("alice#1", cs);
    bob = await makeTestClient("bob#1", cs);
    alice.state = await createGroup({
      groupId,
      keyPackage: alice.keyPackage,
      privateKeyPackage: alice.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    const started = await publicGroupFromGroupInfo(await createGroupInfo(alice.state, cs), {
      validateCredential,
    });
    if (!started.ok) throw new Error(started.detail);
    const added = await commit(alice.state, cs, { add: [bob.keyPackage] });
    const verdict = await applyCommit(started.state, added.commit, { validateCredential });
    if (!verdict.ok || !added.welcome) throw new Error("setup commit refused");
    observer = verdict.next;
    alice.state = added.newState;
    const joined = await joinFromWelcome({
      welcome: added.welcome,
      keyPackage: bob.keyPackage,
      privateKeyPackage: bob.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    if (!joined.ok) throw new Error(joined.detail);
    bob.state = joined.state;
  });

  it("is verified by the server and applied by members who accept the change, then messages flow", async () => {
    const renewed = await selfUpdate(stateOf(alice), cs, { credential: basicCredential("alice#2") });
    expect(ownIdentity(renewed.newState)).toBe("alice#2");
    // The state the commit was built on is untouched: a refused commit leaves the client on it.
    expect(ownIdentity(stateOf(alice))).toBe("alice#1");

    const inspected = inspectCommit(observer, renewed.commit);
    if (!inspected.ok) throw new Error(inspected.detail);
    expect(identityOf(inspected.inspection.committer?.credential ?? basicCredential(""))).toBe("alice#1");
    expect(identityOf(inspected.inspection.updatePathLeaf?.credential ?? basicCredential(""))).toBe(
      "alice#2",
    );

    const verdict = await applyCommit(observer, renewed.commit, serverOptions());
    if (!verdict.ok) throw new Error(`${verdict.reason}: ${verdict.detail}`);
    expect(publicRoster(verdict.next).map((m) => identityOf(m.credential))).toEqual(["alice#2", "bob#1"]);
    expect((await checkGroupInfoMatches(verdict.next, renewed.groupInfo)).ok).toBe(true);

    const atBob = await processIncoming(stateOf(bob), cs, renewed.commit, {
      allowCredentialChange: sameName,
    });
    if (!atBob.ok || atBob.kind !== "commit") throw new Error("bob refused the renewal");
    bob.state = atBob.newState;
    alice.state = renewed.newState;
    observer = verdict.next;
    expect(roster(bob.state).map((m) => identityOf(m.credential))).toEqual(["alice#2", "bob#1"]);

    const message = await encryptApplicationMessage(alice.state, cs, new TextEncoder().encode("renewed"));
    const read = await processIncoming(bob.state, cs, message.message);
    if (!read.ok || read.kind !== "application") throw new Error("bob cannot read alice");
    expect(new TextDecoder().decode(read.data)).toBe("renewed");
    expect(identityOf(read.sender.credential)).toBe("alice#2");
  });

  it("is refused by a server and by members that allow no credential change", async () => {
    const renewed = await selfUpdate(stateOf(alice), cs, { credential: basicCredential("alice#3") });
    const verdict = await applyCommit(observer, renewed.commit, { validateCredential });
    expect(verdict).toMatchObject({ ok: false, reason: "badCredential" });
    const atBob = await processIncoming(stateOf(bob), cs, renewed.commit);
    expect(atBob).toMatchObject({
      ok: false,
      reason: "rejected",
      detail: expect.stringMatching(/changed its credential/),
    });
  });

  it("is refused everywhere when the new credential names someone else", async () => {
    const hijack = await selfUpdate(stateOf(alice), cs, { credential: basicCredential("bob#2") });
    expect(await applyCommit(observer, hijack.commit, serverOptions())).toMatchObject({
      ok: false,
      reason: "badCredential",
    });
    const atBob = await processIncoming(stateOf(bob), cs, hijack.commit, { allowCredentialChange: sameName });
    expect(atBob).toMatchObject({
      ok: false,
      reason: "rejected",
      detail: expect.stringMatching(/changed its credential/),
    });
    expect(roster(stateOf(bob)).map((m) => identityOf(m.credential))).toEqual(["alice#2", "bob#1"]);
  });

  it("is refused everywhere when the issuers do not vouch for the new credential", async () => {
    const revoked = await selfUpdate(stateOf(alice), cs, { credential: basicCredential("alice#revoked") });
    expect(await applyCommit(observer, revoked.commit, serverOptions())).toMatchObject({
      ok: false,
      reason: "badCredential",
    });
    const atBob = await processIncoming(stateOf(bob), cs, revoked.commit, {
      allowCredentialChange: sameName,
    });
    expect(atBob).toMatchObject({ ok: false, reason: "rejected" });
  });

  it("keeps the credential without one, and members need no permission for that", async () => {
    const update = await selfUpdate(stateOf(bob), cs);
    expect(ownIdentity(update.newState)).toBe("bob#1");
    const verdict = await applyCommit(observer, update.commit, { validateCredential });
    if (!verdict.ok) throw new Error(`${verdict.reason}: ${verdict.detail}`);
    const atAlice = await processIncoming(stateOf(alice), cs, update.commit);
    if (!atAlice.ok || atAlice.kind !== "commit") throw new Error("alice refused bob's update");
    // Processing used up the old epoch's secrets: everyone moves on to the new epoch.
    alice.state = atAlice.newState;
    bob.state = update.newState;
    observer = verdict.next;
  });

  it("can carry a new signature key: the commit signed with the old one, the leaf and what follows with the new", async () => {
    const keys = await generateSignatureKeyPair(cs);
    const renewed = await selfUpdate(stateOf(alice), cs, {
      credential: basicCredential("alice#k2"),
      signatureKeyPair: keys,
    });
    const verdict = await applyCommit(observer, renewed.commit, serverOptions());
    if (!verdict.ok) throw new Error(`${verdict.reason}: ${verdict.detail}`);
    const aliceLeaf = publicRoster(verdict.next)[0];
    expect(identityOf(aliceLeaf?.credential ?? basicCredential(""))).toBe("alice#k2");
    expect(Buffer.from(aliceLeaf?.signaturePublicKey ?? []).equals(Buffer.from(keys.publicKey))).toBe(true);
    expect((await checkGroupInfoMatches(verdict.next, renewed.groupInfo)).ok).toBe(true);
    const atBob = await processIncoming(stateOf(bob), cs, renewed.commit, {
      allowCredentialChange: sameName,
    });
    if (!atBob.ok || atBob.kind !== "commit") throw new Error("bob refused the new key");
    bob.state = atBob.newState;
    alice.state = renewed.newState;
    observer = verdict.next;

    // alice's next commit and message are signed with the new key and verify against her new leaf.
    const next = await selfUpdate(alice.state, cs);
    const nextVerdict = await applyCommit(observer, next.commit, { validateCredential });
    if (!nextVerdict.ok) throw new Error(`${nextVerdict.reason}: ${nextVerdict.detail}`);
    const nextAtBob = await processIncoming(bob.state, cs, next.commit);
    if (!nextAtBob.ok || nextAtBob.kind !== "commit") throw new Error("bob refused alice's next commit");
    bob.state = nextAtBob.newState;
    alice.state = next.newState;
    observer = nextVerdict.next;
    const message = await encryptApplicationMessage(alice.state, cs, new TextEncoder().encode("new key"));
    const read = await processIncoming(bob.state, cs, message.message);
    if (!read.ok || read.kind !== "application") throw new Error("bob cannot read alice");
    expect(identityOf(read.sender.credential)).toBe("alice#k2");
  });
});
