import {
  type ClientConfig,
  type ClientState,
  type Credential,
  createCommit,
  createGroup,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  emptyPskIndex,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
} from "ts-mls";
import { describe, expect, it } from "vitest";
import {
  type CredentialFailure,
  createChallenge,
  createMimiAuthenticationService,
  type DomainCa,
  issueClientCertificate,
  signProofOfPossession,
  verifyProofOfPossession,
  x509Credential,
} from "../src/index.js";
import { newDomainCa, staticIssuers } from "./fixtures.js";

const cipherSuite = await getCiphersuiteImpl(
  getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"),
);
const { ca: aCa } = await newDomainCa("a.test");
const { ca: bCa } = await newDomainCa("b.test");
const rejections: CredentialFailure[] = [];
const authService = createMimiAuthenticationService({
  issuersFor: staticIssuers({ "a.test": [aCa], "b.test": [bCa] }),
  onRejected: (verification) => rejections.push(verification),
});
const clientConfig: ClientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService,
};

/** A client as it would enrol: MLS key pair, proof of possession, certificate, KeyPackage. */
async function enrol(ca: DomainCa, user: string, clientId: string) {
  const signatureKeyPair = await cipherSuite.signature.keygen();
  const fields = { ...createChallenge(), user, domain: ca.domain, clientId };
  const signature = signProofOfPossession(signatureKeyPair.signKey, fields);
  expect(
    verifyProofOfPossession({ ...fields, signaturePublicKey: signatureKeyPair.publicKey, signature }),
  ).toBe(true);
  const { chainDer } = await issueClientCertificate(ca, {
    user,
    domain: ca.domain,
    clientId,
    signaturePublicKey: signatureKeyPair.publicKey,
  });
  return { signatureKeyPair, chainDer, ...(await keyPackageFor(x509Credential(chainDer), signatureKeyPair)) };
}

function keyPackageFor(
  credential: Credential,
  signatureKeyPair: { signKey: Uint8Array; publicKey: Uint8Array },
) {
  return generateKeyPackageWithKey(
    credential,
    defaultCapabilities(),
    defaultLifetime,
    [],
    signatureKeyPair,
    cipherSuite,
  );
}

function memberCredentials(state: ClientState): Credential[] {
  return state.ratchetTree.flatMap((node) => (node?.nodeType === "leaf" ? [node.leaf.credential] : []));
}

describe("createMimiAuthenticationService in ts-mls", () => {
  const groupId = new TextEncoder().encode("channel-1");

  it("lets a.test's alice add b.test's bob, and bob join, with verified x509 credentials", async () => {
    const alice = await enrol(aCa, "alice", "phone");
    const bob = await enrol(bCa, "bob", "laptop");
    const aliceGroup = await createGroup(
      groupId,
      alice.publicPackage,
      alice.privatePackage,
      [],
      cipherSuite,
      clientConfig,
    );
    const commit = await createCommit(
      { state: aliceGroup, cipherSuite },
      { extraProposals: [{ proposalType: "add", add: { keyPackage: bob.publicPackage } }] },
    );
    if (!commit.welcome) throw new Error("expected a Welcome");
    const bobGroup = await joinGroup(
      commit.welcome,
      bob.publicPackage,
      bob.privatePackage,
      emptyPskIndex,
      cipherSuite,
      commit.newState.ratchetTree,
      undefined,
      clientConfig,
    );
    expect(bobGroup.groupContext.epoch).toBe(1n);
    const members = await Promise.all(
      memberCredentials(bobGroup).map((credential) => authService.identify(credential)),
    );
    expect(members.map((member) => member.ok && member.acct)).toEqual([
      "acct:alice@a.test",
      "acct:bob@b.test",
    ]);
    expect(rejections).toEqual([]);
  });

  it("refuses to add a KeyPackage whose credential belongs to another key, or is not x509", async () => {
    rejections.length = 0;
    const alice = await enrol(aCa, "alice", "tablet");
    const bob = await enrol(bCa, "bob", "desktop");
    const aliceGroup = await createGroup(
      groupId,
      alice.publicPackage,
      alice.privatePackage,
      [],
      cipherSuite,
      clientConfig,
    );

    // Mallory presents Bob's certificate chain with her own MLS key.
    const malloryKeys = await cipherSuite.signature.keygen();
    const mallory = await keyPackageFor(x509Credential(bob.chainDer), malloryKeys);
    const basic = await keyPackageFor(
      { credentialType: "basic", identity: new TextEncoder().encode("bob") },
      await cipherSuite.signature.keygen(),
    );
    for (const keyPackage of [mallory.publicPackage, basic.publicPackage]) {
      await expect(
        createCommit(
          { state: aliceGroup, cipherSuite },
          { extraProposals: [{ proposalType: "add", add: { keyPackage } }] },
        ),
      ).rejects.toThrow();
    }
    expect(rejections.map((rejection) => rejection.reason)).toEqual(["keyMismatch", "malformed"]);
  });

  it("validateCredential answers for the key the credential is used with", async () => {
    const carol = await enrol(aCa, "carol", "watch");
    const credential = x509Credential(carol.chainDer);
    expect(await authService.validateCredential(credential, carol.signatureKeyPair.publicKey)).toBe(true);
    const other = await cipherSuite.signature.keygen();
    expect(await authService.validateCredential(credential, other.publicKey)).toBe(false);
    expect(await authService.verify(credential, other.publicKey)).toMatchObject({
      ok: false,
      reason: "keyMismatch",
    });
  });
});
