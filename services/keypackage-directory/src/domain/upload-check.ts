import { createHash } from "node:crypto";
import { type IssuersFor, readClientCertificate, verifyClientCredential } from "@mimi/credentials";
import { decodeKeyPackage, type KeyPackageInfo, readKeyPackage } from "@mimi/mls";
import { ciphersuiteId } from "./ciphersuites.js";

/**
 * The MLS checks of one KeyPackage (@mimi/mls `validateKeyPackage`: signatures, suite, lifetime,
 * leaf); the credential is checked here, since only the directory knows whose KeyPackage it must be.
 */
export type KeyPackageValidator = (
  keyPackageBytes: Uint8Array,
  now: Date,
) => Promise<{ ok: true } | { ok: false; reason: string; detail: string }>;

/** Decodes a KeyPackage (an MLSMessage) and reads its fields, without any trust decision. */
export function readKeyPackageBytes(
  bytes: Uint8Array,
): { ok: true; info: KeyPackageInfo } | { ok: false; detail: string } {
  const decoded = decodeKeyPackage(bytes);
  if (!decoded.ok) return { ok: false, detail: decoded.detail };
  return { ok: true, info: readKeyPackage(decoded.keyPackage) };
}

export type UploadRejectionReason =
  | "malformed"
  /** What `validateKeyPackage` refuses (bad signature, bad leaf, ...): its own reason is kept in `detail`. */
  | "invalidKeyPackage"
  | "unsupportedCiphersuite"
  | "expired"
  | "notYetValid"
  | "lifetimeTooLong"
  | "notX509Credential"
  | "credentialOtherDomain"
  | "credentialOtherUser"
  | "credentialOtherClient"
  | "credentialRejected"
  | "lastResortInPool"
  | "notLastResort"
  | "duplicate";

export type UploadCheck =
  | { ok: true; id: string; ciphersuite: number; notAfter: Date; lastResort: boolean }
  | { ok: false; reason: UploadRejectionReason; detail: string };

/** What an uploaded KeyPackage must match: this provider, this user and this client. */
export interface UploadExpectations {
  domain: string;
  user: string;
  clientId: string;
  supportedCiphersuites: readonly number[];
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  now: Date;
  /** The issuers this provider trusts for its own domain (its current CA certificates). */
  issuersFor: IssuersFor;
  validate: KeyPackageValidator;
}

/** The id a KeyPackage is stored and claimed under: base64url SHA-256 of its encoding. */
export function keyPackageIdOf(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64url");
}

function reject(reason: UploadRejectionReason, detail: string): UploadCheck {
  return { ok: false, reason, detail };
}

/**
 * Decides whether one uploaded KeyPackage may be stored for `expected.clientId`. `role` says where it
 * was uploaded: the single-use pool (must not carry the last_resort extension) or the last-resort slot
 * (must carry it, so whoever receives it knows it may be reused).
 */
export async function checkUploadedKeyPackage(
  bytes: Uint8Array,
  role: "pool" | "lastResort",
  expected: UploadExpectations,
): Promise<UploadCheck> {
  // Cheap field checks first, so the common refusals get a precise reason; then the signatures.
  const read = readKeyPackageBytes(bytes);
  if (!read.ok) return reject("malformed", read.detail);
  const { info } = read;

  const suite = ciphersuiteId(info.cipherSuite);
  if (suite === undefined || !expected.supportedCiphersuites.includes(suite)) {
    return reject("unsupportedCiphersuite", `ciphersuite ${info.cipherSuite} is not accepted here`);
  }

  const nowSeconds = BigInt(Math.floor(expected.now.getTime() / 1000));
  if (info.notAfter <= nowSeconds) return reject("expired", "the KeyPackage lifetime has ended");
  if (info.notBefore > nowSeconds + BigInt(expected.clockSkewSeconds)) {
    return reject("notYetValid", "the KeyPackage lifetime has not started");
  }
  if (info.notAfter - info.notBefore > BigInt(expected.maxLifetimeSeconds)) {
    return reject(
      "lifetimeTooLong",
      `the lifetime exceeds ${Math.floor(expected.maxLifetimeSeconds / 86_400)} days`,
    );
  }

  if (role === "pool" && info.lastResort) {
    return reject("lastResortInPool", "a last-resort KeyPackage belongs in the lastResort field");
  }
  if (role === "lastResort" && !info.lastResort) {
    return reject("notLastResort", "the lastResort KeyPackage lacks the last_resort extension");
  }

  const validated = await expected.validate(bytes, expected.now);
  if (!validated.ok) return reject("invalidKeyPackage", `${validated.reason}: ${validated.detail}`);

  const credential = await checkCredential(info, expected);
  if (!credential.ok) return credential;

  return {
    ok: true,
    id: keyPackageIdOf(bytes),
    ciphersuite: suite,
    notAfter: new Date(Number(info.notAfter) * 1000),
    lastResort: info.lastResort,
  };
}

/**
 * The credential must be an x509 chain whose leaf names exactly this user at this domain and this
 * client, certifies the leaf's signature key, and was issued by one of this provider's CAs.
 * The names are read first so a mismatch gets a precise reason.
 */
async function checkCredential(
  info: KeyPackageInfo,
  expected: UploadExpectations,
): Promise<{ ok: true } | { ok: false; reason: UploadRejectionReason; detail: string }> {
  const credential = info.credential;
  if (credential.credentialType !== "x509") {
    return { ok: false, reason: "notX509Credential", detail: "the credential must be an x509 chain" };
  }
  const leaf = credential.certificates[0];
  if (!leaf)
    return { ok: false, reason: "notX509Credential", detail: "the x509 credential has no certificate" };
  const read = readClientCertificate(leaf);
  if (!read.ok) return { ok: false, reason: "credentialRejected", detail: `${read.reason}: ${read.detail}` };
  const names = read.contents;
  if (names.domain !== expected.domain) {
    return {
      ok: false,
      reason: "credentialOtherDomain",
      detail: `the credential is for ${names.acct}, not this provider`,
    };
  }
  if (names.user !== expected.user) {
    return { ok: false, reason: "credentialOtherUser", detail: `the credential names ${names.acct}` };
  }
  if (names.clientId !== expected.clientId) {
    return {
      ok: false,
      reason: "credentialOtherClient",
      detail: `the credential names client ${names.clientId}, not ${expected.clientId}`,
    };
  }
  const verified = await verifyClientCredential(credential.certificates, info.signaturePublicKey, {
    issuersFor: expected.issuersFor,
    now: expected.now,
  });
  if (!verified.ok) {
    return { ok: false, reason: "credentialRejected", detail: `${verified.reason}: ${verified.detail}` };
  }
  return { ok: true };
}
