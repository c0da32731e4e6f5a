import { createDomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import {
  acceptAnyCredential,
  basicCredential,
  createGroup,
  createKeyPackage,
  generateSignatureKeyPair,
  loadCiphersuite,
  x509Credential,
} from "@mimi/mls";
import { describe, expect, it } from "vitest";
import {
  allowCredentialChange,
  ownLeafOutdated,
  RENEWAL_UPDATE_RETRY_MS,
  renewalUpdateDue,
} from "../src/conversation/credential-update.js";

/** Who may change a leaf's credential (its own client, renewing it), and when our own leaf needs the renewed one. */

describe("a member's leaf changing its credential", () => {
  it("is allowed for the same acct and client only", async () => {
    const ca = await loadDomainCa(await createDomainCa("b.test"));
    const cs = await loadCiphersuite();
    const keys = await generateSignatureKeyPair(cs);
    const certificate = async (user: string, clientId: string) =>
      x509Credential(
        (
          await issueClientCertificate(ca, {
            user,
            domain: "b.test",
            clientId,
            signaturePublicKey: keys.publicKey,
          })
        ).chainDer,
      );
    const current = await certificate("bob", "bob-phone");
    expect(await allowCredentialChange(current, await certificate("bob", "bob-phone"))).toBe(true);
    expect(await allowCredentialChange(current, await certificate("dave", "bob-phone"))).toBe(false);
    expect(await allowCredentialChange(current, await certificate("bob", "bob-laptop"))).toBe(false);
    expect(await allowCredentialChange(current, basicCredential("acct:bob@b.test"))).toBe(false);
    expect(await allowCredentialChange(basicCredential("acct:bob@b.test"), current)).toBe(false);
  });
});

describe("our own leaf", () => {
  it("is outdated once the device's credential is another than the one it carries", async () => {
    const cs = await loadCiphersuite();
    const signatureKeyPair = await generateSignatureKeyPair(cs);
    const credential = basicCredential("acct:bob@b.test#1");
    const bundle = await createKeyPackage({ credential, signatureKeyPair, cipherSuite: cs });
    const state = await createGroup({
      groupId: new TextEncoder().encode("renewals"),
      ...bundle,
      cipherSuite: cs,
      validateCredential: acceptAnyCredential,
    });
    expect(ownLeafOutdated(state, basicCredential("acct:bob@b.test#1"))).toBe(false);
    expect(ownLeafOutdated(state, basicCredential("acct:bob@b.test#2"))).toBe(true);

    // The renewal's key update is due at once, and again a while after the channel refused one.
    const renewed = basicCredential("acct:bob@b.test#2");
    const now = new Date("2026-06-01T12:00:00.000Z");
    const refusedAt = (ms: number) => ({
      keyUpdate: {
        at: new Date(now.getTime() - ms).toISOString(),
        messages: 0,
        refused: "credentialChanged",
      },
    });
    expect(renewalUpdateDue({}, state, renewed, now)).toBe(true);
    expect(renewalUpdateDue({}, state, credential, now)).toBe(false);
    expect(renewalUpdateDue({ keyUpdate: { at: now.toISOString(), messages: 0 } }, state, renewed, now)).toBe(
      true,
    );
    expect(renewalUpdateDue(refusedAt(RENEWAL_UPDATE_RETRY_MS - 1), state, renewed, now)).toBe(false);
    expect(renewalUpdateDue(refusedAt(RENEWAL_UPDATE_RETRY_MS), state, renewed, now)).toBe(true);
  });
});
