import { describe, expect, it } from "vitest";
import {
  type DomainCa,
  type IssuersFor,
  issueClientCertificate,
  readClientCertificate,
  verifyClientCredential,
} from "../src/index.js";
import * as x509 from "../src/x509-library.js";
import { generateClientKey, newDomainCa, staticIssuers } from "./fixtures.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const { ca: aCa } = await newDomainCa("a.test");
const { ca: bCa } = await newDomainCa("b.test");
const issuersFor = staticIssuers({ "a.test": [aCa], "b.test": [bCa] });

async function issueFor(
  ca: DomainCa,
  user = "alice",
  clientId = "phone-1",
  extra: { notBefore?: Date; notAfter?: Date } = {},
) {
  const key = generateClientKey();
  const issued = await issueClientCertificate(ca, {
    user,
    domain: ca.domain,
    clientId,
    signaturePublicKey: key.publicKey,
    ...extra,
  });
  return { key, ...issued };
}

function replaceAscii(der: Uint8Array, from: string, to: string): Uint8Array {
  const haystack = Buffer.from(der);
  const at = haystack.indexOf(Buffer.from(from, "ascii"));
  if (at < 0) throw new Error(`${from} not found`);
  const copy = new Uint8Array(der);
  copy.set(Buffer.from(to, "ascii"), at);
  return copy;
}

describe("issueClientCertificate", () => {
  it("binds the raw MLS key, the acct URI and the client id", async () => {
    const { key, certificateDer, chainDer } = await issueFor(aCa);
    expect(chainDer).toEqual([certificateDer, aCa.certificateDer]);
    const read = readClientCertificate(certificateDer);
    if (!read.ok) throw new Error(read.detail);
    expect(read.contents).toMatchObject({
      user: "alice",
      domain: "a.test",
      clientId: "phone-1",
      acct: "acct:alice@a.test",
      signaturePublicKey: key.publicKey,
    });
    const san = read.contents.certificate.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.items.map((name) => [name.type, name.value])).toEqual([
      ["url", "acct:alice@a.test"],
      ["url", "mimi-client:phone-1"],
    ]);
    const lifetime =
      read.contents.certificate.notAfter.getTime() - read.contents.certificate.notBefore.getTime();
    expect(lifetime).toBe(90 * DAY_MS);
  });

  it("refuses to issue for another domain or for an invalid name or key", async () => {
    const key = generateClientKey();
    const request = { user: "alice", domain: "a.test", clientId: "c1", signaturePublicKey: key.publicKey };
    await expect(issueClientCertificate(bCa, request)).rejects.toThrow(/cannot issue/);
    await expect(issueClientCertificate(aCa, { ...request, user: "al@ce" })).rejects.toThrow(/invalid user/);
    await expect(issueClientCertificate(aCa, { ...request, clientId: "" })).rejects.toThrow(/client id/);
    await expect(
      issueClientCertificate(aCa, { ...request, signaturePublicKey: key.publicKey.slice(1) }),
    ).rejects.toThrow(/32 bytes/);
  });

  it("never lets a leaf outlive its CA", async () => {
    const { ca: shortLived } = await newDomainCa("c.test", { validityDays: 10 });
    const { certificateDer } = await issueFor(shortLived);
    const read = readClientCertificate(certificateDer);
    if (!read.ok) throw new Error(read.detail);
    expect(read.contents.certificate.notAfter).toEqual(shortLived.certificate.notAfter);
  });
});

describe("verifyClientCredential", () => {
  it("accepts a credential issued by its own domain", async () => {
    const { key, chainDer } = await issueFor(aCa);
    expect(await verifyClientCredential(chainDer, key.publicKey, { issuersFor })).toEqual({
      ok: true,
      user: "alice",
      domain: "a.test",
      clientId: "phone-1",
      acct: "acct:alice@a.test",
    });
  });

  it("accepts a b.test credential against b.test's issuers, with or without the CA in the chain", async () => {
    const { key, chainDer, certificateDer } = await issueFor(bCa, "bob", "laptop");
    const full = await verifyClientCredential(chainDer, key.publicKey, { issuersFor });
    expect(full).toMatchObject({ ok: true, acct: "acct:bob@b.test", clientId: "laptop" });
    const leafOnly = await verifyClientCredential([certificateDer], key.publicKey, { issuersFor });
    expect(leafOnly.ok).toBe(true);
  });

  it("rejects an a.test identity issued by b.test's CA", async () => {
    // A CA that ignores its own domain: b.test's key signing an acct:...@a.test leaf.
    const rogue: DomainCa = { ...bCa, domain: "a.test" };
    const { key, chainDer, certificateDer } = await issueFor(rogue, "alice");
    expect(await verifyClientCredential(chainDer, key.publicKey, { issuersFor })).toMatchObject({
      ok: false,
      reason: "issuerDomainMismatch",
    });
    expect(await verifyClientCredential([certificateDer], key.publicKey, { issuersFor })).toMatchObject({
      ok: false,
      reason: "unknownIssuer",
    });
  });

  it("rejects a leaf signed by an impostor CA that copies the domain CA's name", async () => {
    const { ca: impostor } = await newDomainCa("a.test");
    const { key, certificateDer } = await issueFor(impostor);
    const result = await verifyClientCredential([certificateDer], key.publicKey, { issuersFor });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(["unknownIssuer", "badSignature"]).toContain(result.reason);
  });

  it("rejects a credential used with another MLS signature key", async () => {
    const { chainDer } = await issueFor(aCa);
    expect(
      await verifyClientCredential(chainDer, generateClientKey().publicKey, { issuersFor }),
    ).toMatchObject({ ok: false, reason: "keyMismatch" });
  });

  it("rejects expired and not yet valid leaves, and leaves of an expired CA", async () => {
    const now = new Date();
    const { ca: eCa } = await newDomainCa("e.test", { now: new Date(now.getTime() - 200 * DAY_MS) });
    const issuersFor = staticIssuers({ "e.test": [eCa] });
    const expired = await issueFor(eCa, "alice", "old", {
      notBefore: new Date(now.getTime() - 100 * DAY_MS),
      notAfter: new Date(now.getTime() - DAY_MS),
    });
    expect(
      await verifyClientCredential(expired.chainDer, expired.key.publicKey, { issuersFor, now }),
    ).toMatchObject({ ok: false, reason: "expired" });
    const future = await issueFor(eCa, "alice", "new", { notBefore: new Date(now.getTime() + DAY_MS) });
    expect(
      await verifyClientCredential(future.chainDer, future.key.publicKey, { issuersFor, now }),
    ).toMatchObject({
      ok: false,
      reason: "notYetValid",
    });
    // The same leaves verify at a time inside their validity.
    const then = new Date(now.getTime() - 50 * DAY_MS);
    expect(
      (await verifyClientCredential(expired.chainDer, expired.key.publicKey, { issuersFor, now: then })).ok,
    ).toBe(true);

    const caCreatedAt = new Date(now.getTime() - 20 * DAY_MS);
    const { ca: oldCa } = await newDomainCa("d.test", { now: caCreatedAt, validityDays: 10 });
    const underOldCa = await issueFor(oldCa, "dan", "c1", { notBefore: caCreatedAt });
    const result = await verifyClientCredential(underOldCa.chainDer, underOldCa.key.publicKey, {
      issuersFor: staticIssuers({ "d.test": [oldCa] }),
      now,
    });
    expect(result).toMatchObject({ ok: false, reason: "expired" });
    if (!result.ok) expect(result.detail).toMatch(/issuer/);
  });

  it("rejects a tampered certificate", async () => {
    const { key, certificateDer } = await issueFor(aCa, "alice");
    const renamed = replaceAscii(certificateDer, "acct:alice", "acct:alicf");
    expect(await verifyClientCredential([renamed], key.publicKey, { issuersFor })).toMatchObject({
      ok: false,
      reason: "badSignature",
    });
    const truncated = certificateDer.slice(0, certificateDer.length - 20);
    expect(await verifyClientCredential([truncated], key.publicKey, { issuersFor })).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });

  it("accepts either issuer during a CA rotation, and refuses the old one once it is withdrawn", async () => {
    const { ca: nextA } = await newDomainCa("a.test");
    const old = await issueFor(aCa, "alice", "old-device");
    const fresh = await issueFor(nextA, "alice", "new-device");
    const rotating = staticIssuers({ "a.test": [aCa, nextA] });
    expect((await verifyClientCredential(old.chainDer, old.key.publicKey, { issuersFor: rotating })).ok).toBe(
      true,
    );
    expect(
      (await verifyClientCredential(fresh.chainDer, fresh.key.publicKey, { issuersFor: rotating })).ok,
    ).toBe(true);
    const afterRotation = staticIssuers({ "a.test": [nextA] });
    expect(
      await verifyClientCredential(old.chainDer, old.key.publicKey, { issuersFor: afterRotation }),
    ).toMatchObject({ ok: false, reason: "unknownIssuer" });
  });

  it("asks once for refreshed issuers when none matches, and uses them", async () => {
    const { ca: nextA } = await newDomainCa("a.test");
    const fresh = await issueFor(nextA, "alice", "new-device");
    const calls: Array<boolean | undefined> = [];
    const staleThenFresh: IssuersFor = async (_domain, options) => {
      calls.push(options?.refresh);
      return {
        ok: true,
        issuersPem: options?.refresh ? [aCa.certificatePem, nextA.certificatePem] : [aCa.certificatePem],
      };
    };
    expect(
      (await verifyClientCredential(fresh.chainDer, fresh.key.publicKey, { issuersFor: staleThenFresh })).ok,
    ).toBe(true);
    expect(calls).toEqual([undefined, true]);
  });

  it("keeps the first answer when the refresh fails", async () => {
    const { ca: unpublished } = await newDomainCa("a.test");
    const { key, certificateDer } = await issueFor(unpublished);
    const refreshFails: IssuersFor = async (_domain, options) =>
      options?.refresh ? { ok: false, detail: "HTTP 503" } : { ok: true, issuersPem: [aCa.certificatePem] };
    expect(
      await verifyClientCredential([certificateDer], key.publicKey, { issuersFor: refreshFails }),
    ).toMatchObject({ ok: false, reason: "unknownIssuer" });
  });

  it("reports unavailable issuers, whether the lookup fails or throws", async () => {
    const { key, chainDer } = await issueFor(aCa);
    const failing: IssuersFor = async () => ({ ok: false, detail: "HTTP 503" });
    const throwing: IssuersFor = async () => {
      throw new Error("connection refused");
    };
    for (const lookup of [failing, throwing, staticIssuers({})]) {
      expect(await verifyClientCredential(chainDer, key.publicKey, { issuersFor: lookup })).toMatchObject({
        ok: false,
        reason: "issuersUnavailable",
      });
    }
  });

  it("rejects empty and garbage chains, and leaves without an acct SAN", async () => {
    const key = generateClientKey();
    expect(await verifyClientCredential([], key.publicKey, { issuersFor })).toMatchObject({
      reason: "malformed",
    });
    expect(
      await verifyClientCredential([new Uint8Array([1, 2, 3])], key.publicKey, { issuersFor }),
    ).toMatchObject({
      reason: "malformed",
    });
    const spki = new Uint8Array([
      0x30,
      0x2a,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      0x70,
      0x03,
      0x21,
      0x00,
      ...key.publicKey,
    ]);
    const withoutAcct = await x509.X509CertificateGenerator.create({
      serialNumber: "01",
      subject: "CN=alice@a.test",
      issuer: aCa.certificate.subjectName,
      publicKey: new x509.PublicKey(spki),
      signingKey: aCa.signingKey,
      signingAlgorithm: { name: "Ed25519" },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: "mimi-client:c1" }])],
    });
    expect(
      await verifyClientCredential([new Uint8Array(withoutAcct.rawData)], key.publicKey, { issuersFor }),
    ).toMatchObject({ ok: false, reason: "noAcctSan" });
  });
});
