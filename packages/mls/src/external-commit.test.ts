import type { CiphersuiteImpl, ClientState } from "ts-mls";
import { beforeAll, describe, expect, it } from "vitest";
import {
  commit,
  createGroup,
  createGroupInfo,
  encryptApplicationMessage,
  groupEpoch,
  joinByExternalCommit,
  joinFromWelcome,
  processIncoming,
} from "./client.js";
import { loadCiphersuite } from "./crypto.js";
import {
  applyCommit,
  applyExternalCommit,
  checkGroupInfoMatches,
  encodePublicGroupState,
  type PublicGroupState,
  publicGroupFromGroupInfo,
  publicRoster,
} from "./public-group.js";
import { identityOf, makeTestClient, rejectIdentities, type TestClient } from "./test-support.js";

const groupId = new TextEncoder().encode("channel-external");
// "mallory" stands for a credential its claimed domain's issuers do not vouch for (another domain's CA).
const validateCredential = rejectIdentities("mallory");

function stateOf(client: TestClient): ClientState {
  if (client.state === undefined) throw new Error(`${client.name} has no state`);
  return client.state;
}

describe("external commits (a new device joins from the GroupInfo)", () => {
  let cs: CiphersuiteImpl;
  let alice: TestClient;
  let bob: TestClient;
  let observer: PublicGroupState;

  beforeAll(async () => {
    cs = await loadCiphersuite();
    alice = await makeTestClient("alice", cs);
    bob = await makeTestClient("bob", cs);
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

  async function externalJoin(joiner: TestClient, from: ClientState) {
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

  it("verifies a valid external commit, and every member and the joiner agree after it", async () => {
    const bob2 = await makeTestClient("bob", cs);
    const joined = await externalJoin(bob2, stateOf(bob));
    const before = encodePublicGroupState(observer);
    const verdict = await applyExternalCommit(observer, joined.commit, { validateCredential });
    if (!verdict.ok) throw new Error(`${verdict.reason}: ${verdict.detail}`);
    expect(encodePublicGroupState(observer)).toEqual(before);
    expect(verdict.summary.joiner.leafIndex).toBe(2);
    expect(identityOf(verdict.summary.joiner.credential)).toBe("bob");
    expect(verdict.summary.removed).toEqual([]);
    expect(verdict.next.epoch).toBe(observer.epoch + 1n);
    const matches = await checkGroupInfoMatches(verdict.next, joined.groupInfo);
    expect(matches.ok).toBe(true);

    for (const member of [alice, bob]) {
      const processed = await processIncoming(stateOf(member), cs, joined.commit);
      if (!processed.ok || processed.kind !== "commit") throw new Error(`${member.name} refused the join`);
      member.state = processed.newState;
      expect(groupEpoch(member.state)).toBe(verdict.next.epoch);
    }
    bob2.state = joined.newState;
    observer = verdict.next;
    expect(
      publicRoster(observer)
        .map((m) => identityOf(m.credential))
        .sort(),
    ).toEqual(["alice", "bob", "bob"]);

    // The new device reads and is read.
    const fromBob2 = await encryptApplicationMessage(
      bob2.state,
      cs,
      new TextEncoder().encode("hi from bob2"),
    );
    const atAlice = await processIncoming(stateOf(alice), cs, fromBob2.message);
    if (!atAlice.ok || atAlice.kind !== "application") throw new Error("alice cannot read bob2");
    expect(new TextDecoder().decode(atAlice.data)).toBe("hi from bob2");
    const fromAlice = await encryptApplicationMessage(stateOf(alice), cs, new TextEncoder().encode("hi all"));
    const atBob2 = await processIncoming(bob2.state, cs, fromAlice.message);
    if (!atBob2.ok || atBob2.kind !== "application") throw new Error("bob2 cannot read alice");
    expect(new TextDecoder().decode(atBob2.data)).toBe("hi all");
  });

  it("refuses an external commit for a past epoch and changes nothing", async () => {
    const late = await makeTestClient("bob", cs);
    const stale = await joinByExternalCommit({
      groupInfo: await createGroupInfo(stateOf(alice), cs),
      keyPackage: late.keyPackage,
      privateKeyPackage: late.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    if (!stale.ok) throw new Error(stale.detail);
    // Another commit wins the epoch first.
    const update = await commit(stateOf(alice), cs);
    const won = await applyCommit(observer, update.commit, { validateCredential });
    if (!won.ok) throw new Error(won.detail);
    const before = encodePublicGroupState(won.next);
    const verdict = await applyExternalCommit(won.next, stale.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("staleEpoch");
    expect(encodePublicGroupState(won.next)).toEqual(before);
  });

  it("refuses a joiner whose credential is not vouched for (another domain's issuer)", async () => {
    const mallory = await makeTestClient("mallory", cs);
    const joined = await joinByExternalCommit({
      groupInfo: await createGroupInfo(stateOf(alice), cs),
      keyPackage: mallory.keyPackage,
      privateKeyPackage: mallory.privateKeyPackage,
      cipherSuite: cs,
      // The joining client itself accepts anyone; the server's check is what counts.
      validateCredential: async () => true,
    });
    if (!joined.ok) throw new Error(joined.detail);
    const before = encodePublicGroupState(observer);
    const verdict = await applyExternalCommit(observer, joined.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("badCredential");
    expect(encodePublicGroupState(observer)).toEqual(before);
  });

  it("keeps member commits and external commits apart", async () => {
    const carol = await makeTestClient("carol", cs);
    const joined = await externalJoin(carol, stateOf(alice));
    const asMember = await applyCommit(observer, joined.commit, { validateCredential });
    expect(asMember.ok ? "ok" : asMember.reason).toBe("unsupported");
    const update = await commit(stateOf(alice), cs);
    const asExternal = await applyExternalCommit(observer, update.commit, { validateCredential });
    expect(asExternal.ok ? "ok" : asExternal.reason).toBe("unsupported");
  });

  it("refuses a tampered external commit", async () => {
    const dave = await makeTestClient("dave", cs);
    const joined = await externalJoin(dave, stateOf(alice));
    const tampered = joined.commit.slice();
    tampered[tampered.length - 40] = (tampered[tampered.length - 40] ?? 0) ^ 0xff;
    const verdict = await applyExternalCommit(observer, tampered, { validateCredential });
    expect(verdict.ok).toBe(false);
  });

  it("accepts a resync that replaces the same client's old leaf", async () => {
    const joined = await joinByExternalCommit({
      groupInfo: await createGroupInfo(stateOf(alice), cs),
      keyPackage: bob.keyPackage,
      privateKeyPackage: bob.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
      resync: true,
    });
    if (!joined.ok) throw new Error(joined.detail);
    const verdict = await applyExternalCommit(observer, joined.commit, { validateCredential });
    if (!verdict.ok) throw new Error(`${verdict.reason}: ${verdict.detail}`);
    expect(verdict.summary.removed.map((m) => m.leafIndex)).toEqual([1]);
    expect(verdict.summary.joiner.leafIndex).toBe(1);
    const processed = await processIncoming(stateOf(alice), cs, joined.commit);
    expect(processed.ok && processed.kind === "commit").toBe(true);
  });
});
