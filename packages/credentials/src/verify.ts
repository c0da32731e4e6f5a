import { domainOfCaCertificate } from "./ca.js";
import { bytesEqual, spkiToRawEd25519PublicKey } from "./ed25519.js";
import { acctUri, type ClientIdentity, parseAcctUri, parseClientIdUri } from "./identifiers.js";
import * as x509 from "./x509-library.js";

export type CredentialFailureReason =
  | "malformed"
  | "keyMismatch"
  | "noAcctSan"
  | "unknownIssuer"
  | "issuerDomainMismatch"
  | "expired"
  | "notYetValid"
  | "badSignature"
  | "issuersUnavailable";

export interface VerifiedClientIdentity extends ClientIdentity {
  /** `acct:<user>@<domain>` */
  acct: string;
}

export type CredentialFailure = { ok: false; reason: CredentialFailureReason; detail: string };
export type CredentialVerification = ({ ok: true } & VerifiedClientIdentity) | CredentialFailure;

/** What a domain publishes as its credential issuers (PEM CA certificates), or why it is not known. */
export type IssuersResult = { ok: true; issuersPem: readonly string[] } | { ok: false; detail: string };

/**
 * Looks up the issuers of `domain`. `refresh: true` asks a caching implementation to fetch again
 * (it is passed once when no issuer matched, so a freshly rotated-in CA is picked up); an
 * implementation may ignore it, e.g. to rate-limit.
 */
export type IssuersFor = (domain: string, options?: { refresh?: boolean }) => Promise<IssuersResult>;

export interface VerifyClientCredentialOptions {
  issuersFor: IssuersFor;
  now?: Date;
}

/** A client certificate read without any trust decision. */
export interface ClientCertificateContents extends VerifiedClientIdentity {
  certificate: x509.X509Certificate;
  /** Raw 32-byte Ed25519 subject key. */
  signaturePublicKey: Uint8Array;
}

// An MLS x509 credential here is a leaf plus, at most, a few CA certificates.
const MAX_CHAIN_LENGTH = 8;
const MAX_CERTIFICATE_BYTES = 16 * 1024;

function failure(reason: CredentialFailureReason, detail: string): CredentialFailure {
  return { ok: false, reason, detail };
}

function parseCertificate(der: Uint8Array): x509.X509Certificate | undefined {
  if (der.length === 0 || der.length > MAX_CERTIFICATE_BYTES) return undefined;
  try {
    return new x509.X509Certificate(der);
  } catch {
    return undefined;
  }
}

/** Reads the names and key of a client certificate (structure only: no signature, date or issuer check). */
export function readClientCertificate(
  certificateDer: Uint8Array,
): { ok: true; contents: ClientCertificateContents } | CredentialFailure {
  const certificate = parseCertificate(certificateDer);
  if (!certificate) return failure("malformed", "leaf is not a DER X.509 certificate");
  return readParsedClientCertificate(certificate);
}

function readParsedClientCertificate(
  certificate: x509.X509Certificate,
): { ok: true; contents: ClientCertificateContents } | CredentialFailure {
  let basicConstraints: x509.BasicConstraintsExtension | null;
  let subjectAltName: x509.SubjectAlternativeNameExtension | null;
  try {
    basicConstraints = certificate.getExtension(x509.BasicConstraintsExtension);
    subjectAltName = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  } catch {
    return failure("malformed", "leaf extensions cannot be decoded");
  }
  if (basicConstraints?.ca) return failure("malformed", "leaf is a CA certificate");

  const signaturePublicKey = spkiToRawEd25519PublicKey(new Uint8Array(certificate.publicKey.rawData));
  if (!signaturePublicKey) return failure("keyMismatch", "leaf key is not an Ed25519 key");

  const uris = (subjectAltName?.names.items ?? [])
    .filter((name) => name.type === "url")
    .map((name) => name.value);
  const acctUris = uris.filter((uri) => uri.toLowerCase().startsWith("acct:"));
  if (acctUris.length === 0) return failure("noAcctSan", "leaf has no acct: URI SubjectAltName");
  if (acctUris.length > 1) return failure("malformed", "leaf has more than one acct: URI SubjectAltName");
  const account = parseAcctUri(acctUris[0] ?? "");
  if (!account) return failure("malformed", `invalid acct URI ${JSON.stringify(acctUris[0])}`);

  const clientIds = uris.map(parseClientIdUri).filter((id) => id !== undefined);
  if (clientIds.length !== 1 || clientIds[0] === undefined) {
    return failure("malformed", "leaf must have exactly one valid mimi-client: URI SubjectAltName");
  }
  return {
    ok: true,
    contents: {
      certificate,
      signaturePublicKey,
      user: account.user,
      domain: account.domain,
      clientId: clientIds[0],
      acct: acctUri(account.user, account.domain),
    },
  };
}

async function isSignedBy(leaf: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await leaf.verify({ publicKey: issuer, signatureOnly: true });
  } catch {
    return false;
  }
}

function sameName(a: x509.Name, b: x509.Name): boolean {
  return bytesEqual(new Uint8Array(a.toArrayBuffer()), new Uint8Array(b.toArrayBuffer()));
}

function isCa(certificate: x509.X509Certificate): boolean {
  try {
    return certificate.getExtension(x509.BasicConstraintsExtension)?.ca === true;
  } catch {
    return false;
  }
}

function checkValidity(
  certificate: x509.X509Certificate,
  now: Date,
  what: string,
): CredentialFailure | undefined {
  if (now < certificate.notBefore) {
    return failure("notYetValid", `${what} is valid from ${certificate.notBefore.toISOString()}`);
  }
  if (now > certificate.notAfter) {
    return failure("expired", `${what} expired at ${certificate.notAfter.toISOString()}`);
  }
  return undefined;
}

function authorityKeyId(certificate: x509.X509Certificate): string | undefined {
  try {
    return certificate.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase();
  } catch {
    return undefined;
  }
}

function subjectKeyId(certificate: x509.X509Certificate): string | undefined {
  try {
    return certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Key identifiers tell apart the old and new key of a rotated CA that kept its name. */
function keyIdsAgree(leaf: x509.X509Certificate, issuer: x509.X509Certificate): boolean {
  const expected = authorityKeyId(leaf);
  const actual = subjectKeyId(issuer);
  return expected === undefined || actual === undefined || expected === actual;
}

type IssuerSearch =
  | { kind: "found"; issuer: x509.X509Certificate }
  | { kind: "noNameMatch" }
  | { kind: "noSignatureMatch" };

async function findIssuer(leaf: x509.X509Certificate, issuersPem: readonly string[]): Promise<IssuerSearch> {
  const candidates: x509.X509Certificate[] = [];
  for (const pem of issuersPem) {
    let issuer: x509.X509Certificate;
    try {
      issuer = new x509.X509Certificate(pem);
    } catch {
      continue; // one unreadable entry must not hide the others
    }
    if (isCa(issuer) && sameName(issuer.subjectName, leaf.issuerName) && keyIdsAgree(leaf, issuer)) {
      candidates.push(issuer);
    }
  }
  if (candidates.length === 0) return { kind: "noNameMatch" };
  // Several issuers can share a name (a rotated key keeps the CA's name); try each.
  for (const issuer of candidates) {
    if (await isSignedBy(leaf, issuer)) return { kind: "found", issuer };
  }
  return { kind: "noSignatureMatch" };
}

/**
 * Verifies an MLS x509 credential (`chainDer`, leaf first) for the MLS signature key it is used with:
 * the leaf key must equal `signaturePublicKey`, the leaf must carry `acct:` and `mimi-client:` URI SANs,
 * it must be signed directly by one of the issuers published by the acct URI's own domain, and both
 * the leaf and that issuer must be valid at `now`. Certificates after the leaf are never trusted; they
 * only help explain a rejection.
 */
export async function verifyClientCredential(
  chainDer: readonly Uint8Array[],
  signaturePublicKey: Uint8Array,
  options: VerifyClientCredentialOptions,
): Promise<CredentialVerification> {
  const now = options.now ?? new Date();
  if (chainDer.length === 0) return failure("malformed", "empty certificate chain");
  if (chainDer.length > MAX_CHAIN_LENGTH) return failure("malformed", "certificate chain too long");
  const chain: x509.X509Certificate[] = [];
  for (const [index, der] of chainDer.entries()) {
    const certificate = parseCertificate(der);
    if (!certificate) return failure("malformed", `chain entry ${index} is not a DER X.509 certificate`);
    chain.push(certificate);
  }
  const [leaf, ...presentedIssuers] = chain;
  if (!leaf) return failure("malformed", "empty certificate chain");

  const read = readParsedClientCertificate(leaf);
  if (!read.ok) return read;
  const { contents } = read;
  if (!bytesEqual(contents.signaturePublicKey, signaturePublicKey)) {
    return failure("keyMismatch", "leaf key differs from the MLS signature key");
  }

  let search: IssuerSearch | undefined;
  for (const refresh of [false, true]) {
    let issuers: IssuersResult;
    try {
      issuers = await options.issuersFor(contents.domain, refresh ? { refresh } : undefined);
    } catch (error) {
      issuers = { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    if (!issuers.ok) {
      // A failed refresh leaves the answer from the issuers already known.
      if (search) break;
      return failure("issuersUnavailable", `issuers of ${contents.domain}: ${issuers.detail}`);
    }
    search = await findIssuer(leaf, issuers.issuersPem);
    if (search.kind === "found") break;
  }
  if (!search || search.kind === "noSignatureMatch") {
    return failure("badSignature", `leaf signature does not verify under any issuer of ${contents.domain}`);
  }
  if (search.kind === "noNameMatch") {
    // Explain the rejection precisely when the chain shows the leaf was signed by another domain's CA.
    for (const presented of presentedIssuers) {
      const presentedDomain = domainOfCaCertificate(presented);
      if (presentedDomain === undefined || presentedDomain === contents.domain) continue;
      if (sameName(presented.subjectName, leaf.issuerName) && (await isSignedBy(leaf, presented))) {
        return failure(
          "issuerDomainMismatch",
          `leaf is signed by "${presented.subject}", which is not a credential issuer of ${contents.domain}`,
        );
      }
    }
    return failure("unknownIssuer", `"${leaf.issuer}" is not a credential issuer of ${contents.domain}`);
  }

  const issuerValidity = checkValidity(search.issuer, now, `issuer "${search.issuer.subject}"`);
  if (issuerValidity) return issuerValidity;
  const leafValidity = checkValidity(leaf, now, "leaf certificate");
  if (leafValidity) return leafValidity;

  return {
    ok: true,
    user: contents.user,
    domain: contents.domain,
    clientId: contents.clientId,
    acct: contents.acct,
  };
}
