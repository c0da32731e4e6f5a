import type { CiphersuiteImpl, ClientState } from "ts-mls";
import { beforeAll, describe, expect, it } from "vitest";
import {
  acceptAnyCredential,
  basicCredential,
  type CommitOutput,
  commit,
  createGroup,
  createGroupInfo,
  encryptApplicationMessage,
  groupEpoch,
  joinFromWelcome,
  processIncoming,
  readKeyPackage,
  treeHashOf,
} from "./client.js";
import { loadCiphersuite } from "./crypto.js";
import {
  applyCommit,
  checkGroupInfoMatches,
  decodePublicGroupState,
  encodePublicGroupState,
  inspectCommit,
  inspectPrivateMessage,
  type PublicGroupState,
  publicGroupFromGroupInfo,
  publicRoster,
} from "./public-group.js";
import { identityOf, makeTestClient, rejectIdentities, type TestClient } from "./test-support.js";

const validateCredential = rejectIdentities("mallory");
const groupId = new TextEncoder().encode("channel-1");

function requireState(client: TestClient): ClientState {
  if (client.state === undefined) throw new Error(`${client.name} has no state`);
  return client.state;
}

/**
 * A channel scenario: members commit, the observer (the channel's server) verifies and
 * applies each commit, then every other member processes it.
 */
class Scenario {
  members: TestClient[] = [];
  history: { observer: PublicGroupState; commit: Uint8Array }[] = [];
  constructor(
    readonly cs: CiphersuiteImpl,
    public observer: PublicGroupState,
  ) {}

  /** Commits with `committer`, has the observer verify it, then delivers it to everyone else. */
  async step(committer: TestClient, changes: { add?: TestClient[]; remove?: TestClient[] }) {
    const state = requireState(committer);
    const removeIndices = (changes.remove ?? []).map((m) => leafIndexOf(this.observer, m.name));
    const output = await commit(state, this.cs, {
      add: (changes.add ?? []).map((c) => c.keyPackage),
      remove: removeIndices,
    });
    const verdict = await applyCommit(this.observer, output.commit, { validateCredential });
    if (!verdict.ok) throw new Error(`observer rejected: ${verdict.reason} ${verdict.detail}`);
    const match = await checkGroupInfoMatches(verdict.next, output.groupInfo);
    if (!match.ok) throw new Error(`GroupInfo mismatch: ${match.reason} ${match.detail}`);
    expect(match.signer.leafIndex).toBe(verdict.summary.committer.leafIndex);
    // The GroupInfo of the new epoch does not match the old epoch.
    const stale = await checkGroupInfoMatches(this.observer, output.groupInfo);
    expect(stale.ok ? "ok" : stale.reason).toBe("futureEpoch");
    this.history.push({ observer: this.observer, commit: output.commit });
    this.observer = verdict.next;
    committer.state = output.newState;
    const removedNames = new Set((changes.remove ?? []).map((m) => m.name));
    for (const member of this.members) {
      if (member === committer) continue;
      const processed = await processIncoming(requireState(member), this.cs, output.commit);
      if (!processed.ok) throw new Error(`${member.name} rejected: ${processed.detail}`);
      if (processed.kind !== "commit") throw new Error(`${member.name} saw no commit`);
      expect(processed.removedFromGroup).toBe(removedNames.has(member.name));
      member.state = processed.newState;
    }
    this.members = this.members.filter((m) => !removedNames.has(m.name));
    for (const joiner of changes.add ?? []) await this.join(joiner, output);
    return { output, summary: verdict.summary };
  }

  async join(joiner: TestClient, output: CommitOutput) {
    if (output.welcome === undefined) throw new Error("no welcome");
    const joined = await joinFromWelcome({
      welcome: output.welcome,
      keyPackage: joiner.keyPackage,
      privateKeyPackage: joiner.privateKeyPackage,
      cipherSuite: this.cs,
      validateCredential,
    });
    if (!joined.ok) throw new Error(`${joiner.name} could not join: ${joined.detail}`);
    joiner.state = joined.state;
    this.members.push(joiner);
  }

  expectAgreement() {
    for (const member of this.members) {
      const state = requireState(member);
      expect(groupEpoch(state), member.name).toBe(this.observer.epoch);
      expect(Buffer.from(treeHashOf(state)).toString("hex"), member.name).toBe(
        Buffer.from(this.observer.groupContext.treeHash).toString("hex"),
      );
      expect(
        Buffer.from(state.groupContext.confirmedTranscriptHash).equals(
          Buffer.from(this.observer.groupContext.confirmedTranscriptHash),
        ),
      ).toBe(true);
    }
    expect(
      publicRoster(this.observer)
        .map((m) => identityOf(m.credential))
        .sort(),
    ).toEqual(this.members.map((m) => m.name).sort());
  }
}

function leafIndexOf(state: PublicGroupState, name: string): number {
  const entry = publicRoster(state).find((m) => identityOf(m.credential) === name);
  if (entry === undefined) throw new Error(`${name} is not in the group`);
  return entry.leafIndex;
}

describe("public group verifier", () => {
  let cs: CiphersuiteImpl;
  let scenario: Scenario;
  let clients: Record<string, TestClient>;
  let bobBeforeRemoval: ClientState;

  beforeAll(async () => {
    cs = await loadCiphersuite();
    clients = {};
    for (const name of ["alice", "bob", "carol", "dave", "erin"])
      clients[name] = await makeTestClient(name, cs);
  });

  function client(name: string): TestClient {
    const found = clients[name];
    if (found === undefined) throw new Error(name);
    return found;
  }

  it("starts from the creator's GroupInfo", async () => {
    const alice = client("alice");
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
    expect(started.state.epoch).toBe(0n);
    expect(identityOf(started.signer.credential)).toBe("alice");
    scenario = new Scenario(cs, started.state);
    scenario.members.push(alice);
    scenario.expectAgreement();
  });

  it("tracks adds, self-updates, removes and commits by non-creators across epochs", async () => {
    const added = await scenario.step(client("alice"), { add: [client("bob"), client("carol")] });
    expect(added.summary.added.map((m) => identityOf(m.credential))).toEqual(["bob", "carol"]);
    expect(added.summary.committer.leafIndex).toBe(0);
    scenario.expectAgreement();

    const update = await scenario.step(client("bob"), {});
    expect(update.summary.hasUpdatePath).toBe(true);
    expect(update.summary.committer.leafIndex).toBe(1);
    scenario.expectAgreement();

    await scenario.step(client("carol"), { add: [client("dave")] });
    scenario.expectAgreement();

    bobBeforeRemoval = requireState(client("bob"));
    const removal = await scenario.step(client("alice"), { remove: [client("bob")] });
    expect(removal.summary.removed.map((m) => identityOf(m.credential))).toEqual(["bob"]);
    scenario.expectAgreement();

    await scenario.step(client("dave"), {});
    scenario.expectAgreement();

    await scenario.step(client("carol"), { remove: [client("alice")], add: [client("erin")] });
    scenario.expectAgreement();
    expect(scenario.observer.epoch).toBe(6n);
  });

  it("survives encoding of the public state", async () => {
    const decoded = decodePublicGroupState(encodePublicGroupState(scenario.observer));
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(encodePublicGroupState(decoded.state)).toEqual(encodePublicGroupState(scenario.observer));
    const next = await commit(requireState(client("erin")), cs);
    const verdict = await applyCommit(decoded.state, next.commit, { validateCredential });
    expect(verdict.ok).toBe(true);
  });

  it("inspects a commit without changing the state", async () => {
    const mallory = await makeTestClient("mallory", cs);
    // Carol's client is configured to accept any credential; the server's validator is stricter.
    const carolState = requireState(client("carol"));
    const permissive = {
      ...carolState,
      clientConfig: { ...carolState.clientConfig, authService: { validateCredential: acceptAnyCredential } },
    };
    const output = await commit(permissive, cs, {
      add: [mallory.keyPackage],
      remove: [leafIndexOf(scenario.observer, "dave")],
    });
    const before = encodePublicGroupState(scenario.observer);
    const inspected = inspectCommit(scenario.observer, output.commit);
    if (!inspected.ok) throw new Error(inspected.detail);
    expect(inspected.inspection.epoch).toBe(scenario.observer.epoch);
    expect(inspected.inspection.senderLeafIndex).toBe(leafIndexOf(scenario.observer, "carol"));
    expect(inspected.inspection.adds.map((a) => identityOf(a.credential))).toEqual(["mallory"]);
    expect(
      inspected.inspection.removes.map((r) => identityOf(r.credential ?? { credentialType: "basic" })),
    ).toEqual(["dave"]);
    expect(encodePublicGroupState(scenario.observer)).toEqual(before);
    // The credential validator rejects mallory.
    const verdict = await applyCommit(scenario.observer, output.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("badCredential");
  });

  it("rejects an expired KeyPackage and a commit for another group", async () => {
    const late = await makeTestClient("frank", cs);
    const output = await commit(requireState(client("carol")), cs, { add: [late.keyPackage] });
    const tooLate = Number(readKeyPackage(late.keyPackage).notAfter) + 1;
    const expired = await applyCommit(scenario.observer, output.commit, {
      validateCredential,
      nowSeconds: tooLate,
    });
    expect(expired.ok ? "ok" : expired.reason).toBe("badKeyPackage");
    const current = await applyCommit(scenario.observer, output.commit, { validateCredential });
    expect(current.ok).toBe(true);

    const other = await makeTestClient("grace", cs);
    const otherState = await createGroup({
      groupId: new TextEncoder().encode("another-channel"),
      keyPackage: other.keyPackage,
      privateKeyPackage: other.privateKeyPackage,
      cipherSuite: cs,
      validateCredential,
    });
    const foreign = await commit(otherState, cs);
    const verdict = await applyCommit(scenario.observer, foreign.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("wrongGroup");
  });

  it("rejects a committer that changes its identity in the UpdatePath", async () => {
    const carolState = requireState(client("carol"));
    const carolIndex = leafIndexOf(scenario.observer, "carol");
    const forgedTree = carolState.ratchetTree.slice();
    const own = forgedTree[carolIndex * 2];
    if (own?.nodeType !== "leaf") throw new Error("carol has no leaf");
    forgedTree[carolIndex * 2] = {
      nodeType: "leaf",
      leaf: { ...own.leaf, credential: basicCredential("dave") },
    };
    const output = await commit({ ...carolState, ratchetTree: forgedTree }, cs);
    const verdict = await applyCommit(scenario.observer, output.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("badCredential");
    const allowed = await applyCommit(scenario.observer, output.commit, {
      validateCredential,
      allowCredentialChange: async () => true,
    });
    expect(allowed.ok).toBe(true);
  });

  it("rejects a commit with a flipped signed byte", async () => {
    const marker = new TextEncoder().encode("signed-marker");
    const output = await commit(requireState(client("carol")), cs, { authenticatedData: marker });
    const at = Buffer.from(output.commit).indexOf(Buffer.from(marker));
    expect(at).toBeGreaterThan(0);
    const tampered = output.commit.slice();
    tampered[at] = (tampered[at] ?? 0) ^ 0x01;
    const verdict = await applyCommit(scenario.observer, tampered, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("badSignature");
    const untouched = await applyCommit(scenario.observer, output.commit, { validateCredential });
    expect(untouched.ok).toBe(true);
  });

  it("rejects a commit for an old epoch", async () => {
    const old = scenario.history[2];
    if (old === undefined) throw new Error("no history");
    const verdict = await applyCommit(scenario.observer, old.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("staleEpoch");
    const replayedAhead = await applyCommit(scenario.history[0]?.observer ?? scenario.observer, old.commit, {
      validateCredential,
    });
    expect(replayedAhead.ok ? "ok" : replayedAhead.reason).toBe("futureEpoch");
  });

  it("rejects a commit from a removed member", async () => {
    // Bob keeps his old state and signs a commit for the current epoch with the public
    // group context; his leaf is blank in the tracked tree.
    const bobLeafNodeIndex = 2;
    const bobLeaf = bobBeforeRemoval.ratchetTree[bobLeafNodeIndex];
    expect(scenario.observer.ratchetTree[bobLeafNodeIndex]).toBeUndefined();
    const forgedTree = scenario.observer.ratchetTree.slice();
    forgedTree[bobLeafNodeIndex] = bobLeaf;
    const forgedState: ClientState = {
      ...bobBeforeRemoval,
      groupContext: scenario.observer.groupContext,
      ratchetTree: forgedTree,
      confirmationTag: scenario.observer.confirmationTag,
    };
    const output = await commit(forgedState, cs);
    const verdict = await applyCommit(scenario.observer, output.commit, { validateCredential });
    expect(verdict.ok ? "ok" : verdict.reason).toBe("notAMember");
  });

  it("rejects a GroupInfo whose ratchet tree was tampered with", async () => {
    const carolState = requireState(client("carol"));
    // Signed by a member, but the tree in the extension is not the group's tree.
    const blanked = carolState.ratchetTree.slice();
    const otherLeaf = publicRoster(scenario.observer).find((m) => identityOf(m.credential) !== "carol");
    if (otherLeaf === undefined) throw new Error("no other member");
    blanked[otherLeaf.leafIndex * 2] = undefined;
    const signedWrongTree = await createGroupInfo({ ...carolState, ratchetTree: blanked }, cs);
    const fromWrongTree = await publicGroupFromGroupInfo(signedWrongTree, { validateCredential });
    expect(fromWrongTree.ok ? "ok" : fromWrongTree.reason).toBe("treeHashMismatch");
    const matchWrongTree = await checkGroupInfoMatches(scenario.observer, signedWrongTree);
    expect(matchWrongTree.ok ? "ok" : matchWrongTree.reason).toBe("treeHashMismatch");

    // Bytes changed after signing: the signature no longer verifies.
    const genuine = await createGroupInfo(carolState, cs);
    const fromGenuine = await publicGroupFromGroupInfo(genuine, { validateCredential });
    expect(fromGenuine.ok).toBe(true);
    const tampered = genuine.slice();
    const key =
      carolState.ratchetTree[0]?.nodeType === "leaf"
        ? carolState.ratchetTree[0].leaf.hpkePublicKey
        : undefined;
    const at = key === undefined ? -1 : Buffer.from(tampered).indexOf(Buffer.from(key));
    expect(at).toBeGreaterThan(0);
    tampered[at] = (tampered[at] ?? 0) ^ 0x80;
    const fromTampered = await publicGroupFromGroupInfo(tampered, { validateCredential });
    expect(fromTampered.ok ? "ok" : fromTampered.reason).toBe("badSignature");
  });

  it("rejects garbage and reads PrivateMessage headers", async () => {
    const garbage = await applyCommit(scenario.observer, new Uint8Array([0, 1, 0, 2, 9, 9]), {
      validateCredential,
    });
    expect(garbage.ok ? "ok" : garbage.reason).toBe("malformed");
    const sent = await encryptApplicationMessage(
      requireState(client("carol")),
      cs,
      new TextEncoder().encode("hi"),
    );
    const header = inspectPrivateMessage(scenario.observer, sent.message);
    if (!header.ok) throw new Error(header.detail);
    expect(header.epoch).toBe(scenario.observer.epoch);
    expect(header.contentType).toBe("application");
    const asCommit = await applyCommit(scenario.observer, sent.message, { validateCredential });
    expect(asCommit.ok ? "ok" : asCommit.reason).toBe("malformed");
  });
});
