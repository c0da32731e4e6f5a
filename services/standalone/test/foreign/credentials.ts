import { randomBytes, webcrypto } from "node:crypto";
import { x509 } from "./libraries.js";

/**
 * The foreign domain's Authentication Service, built from docs/protocol.md section 4.1: a self-signed
 * Ed25519 CA, and leaf certificates whose key is the client's MLS signature key, with exactly one
 * `acct:` and one `mimi-client:` URI SubjectAltName.
 */
export interface ForeignCa {
  certificate: x509.X509Certificate;
  pem: string;
  der: Uint8Array;
  keys: webcrypto.CryptoKeyPair;
}

const DAY_MS = 86_400_000;

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

async function ed25519Keys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

export async function createCa(domain: string): Promise<ForeignCa> {
  const keys = await ed25519Keys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [`${domain} MIMI client CA`] }],
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 730 * DAY_MS),
    keys,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, pem: certificate.toString("pem"), der: new Uint8Array(certificate.rawData), keys };
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A leaf for `user@domain`'s client `clientId`, certifying the 32-byte Ed25519 MLS signature key. */
export async function issueLeaf(
  ca: ForeignCa,
  identity: { user: string; domain: string; clientId: string },
  signaturePublicKey: Uint8Array,
): Promise<Uint8Array> {
  const publicKey = await webcrypto.subtle.importKey(
    "spki",
    Buffer.concat([ED25519_SPKI_PREFIX, signaturePublicKey]),
    { name: "Ed25519" },
    true,
    ["verify"],
  );
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${identity.user}@${identity.domain}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 90 * DAY_MS),
    publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: `acct:${identity.user}@${identity.domain}` },
        { type: "url", value: `mimi-client:${identity.clientId}` },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return new Uint8Array(certificate.rawData);
}

/** The `acct:` SAN of a leaf, or undefined when it has not exactly one. */
export function acctOf(leaf: x509.X509Certificate): string | undefined {
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  const accts = (san?.names.items ?? [])
    .filter((name) => name.type === "url" && name.value.startsWith("acct:"))
    .map((name) => name.value);
  return accts.length === 1 ? accts[0] : undefined;
}

/**
 * Section 4.2 as a foreign client applies it: an x509 credential whose leaf key is the MLS signature
 * key, with one `acct:` SAN, signed directly by one of the issuers the acct's domain publishes.
 */
export async function verifyCredentialChain(
  certificates: Uint8Array[],
  signaturePublicKey: Uint8Array,
  issuersOf: (domain: string) => Promise<string[]>,
): Promise<string | undefined> {
  const der = certificates[0];
  if (der === undefined) return undefined;
  const leaf = new x509.X509Certificate(der);
  const spki = Buffer.from(leaf.publicKey.rawData);
  if (!spki.equals(Buffer.concat([ED25519_SPKI_PREFIX, signaturePublicKey]))) return undefined;
  const acct = acctOf(leaf);
  const domain = acct?.slice(acct.indexOf("@") + 1);
  if (acct === undefined || !domain) return undefined;
  const now = new Date();
  if (leaf.notBefore > now || leaf.notAfter < now) return undefined;
  for (const pem of await issuersOf(domain)) {
    const issuer = new x509.X509Certificate(pem);
    if (issuer.subject !== leaf.issuer) continue;
    if (await leaf.verify({ publicKey: issuer.publicKey, signatureOnly: true })) return acct;
  }
  return undefined;
}
