import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from "node:crypto";
import { bytesEqual, spkiToRawEd25519PublicKey } from "./ed25519.js";
import { isValidDomain } from "./identifiers.js";
import * as x509 from "./x509-library.js";

/** Subject CN of a domain CA: `<domain> MIMI client CA`; `loadDomainCa` reads the domain back from it. */
export const CA_COMMON_NAME_SUFFIX = " MIMI client CA";
export const DEFAULT_CA_VALIDITY_DAYS = 730;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DomainCaMaterial {
  certificatePem: string;
  /** PKCS#8 PEM ("PRIVATE KEY"). */
  privateKeyPem: string;
}

/** A loaded CA, ready to issue client certificates for `domain`. */
export interface DomainCa {
  readonly domain: string;
  readonly certificate: x509.X509Certificate;
  readonly certificatePem: string;
  readonly certificateDer: Uint8Array;
  readonly signingKey: webcrypto.CryptoKey;
}

/** A positive, 16-byte serial number whose first byte is never zero (so its DER form keeps 16 bytes). */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** Generates a self-signed Ed25519 CA for `domain` (basicConstraints CA, pathLen 0; keyCertSign). */
export async function createDomainCa(
  domain: string,
  options: { now?: Date; validityDays?: number } = {},
): Promise<DomainCaMaterial> {
  if (!isValidDomain(domain)) throw new TypeError(`invalid domain ${JSON.stringify(domain)}`);
  const now = options.now ?? new Date();
  const validityDays = options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS;
  if (!(validityDays > 0)) throw new RangeError("validityDays must be positive");
  const keys = (await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [`${domain}${CA_COMMON_NAME_SUFFIX}`] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
    keys,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      // pathLen 0: this CA signs client certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    certificatePem: certificate.toString("pem"),
    privateKeyPem: x509.PemConverter.encode(pkcs8.buffer as ArrayBuffer, "PRIVATE KEY"),
  };
}

/** Loads CA material (from configuration); throws with a reason if it is not a usable MIMI domain CA. */
export async function loadDomainCa(material: DomainCaMaterial): Promise<DomainCa> {
  const certificate = new x509.X509Certificate(material.certificatePem);
  const domain = domainOfCaCertificate(certificate);
  if (domain === undefined) {
    throw new Error(`CA subject ${certificate.subject} is not "CN=<domain>${CA_COMMON_NAME_SUFFIX}"`);
  }
  const basicConstraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!basicConstraints?.ca) throw new Error("CA certificate lacks basicConstraints cA=true");
  const keyUsage = certificate.getExtension(x509.KeyUsagesExtension);
  if (keyUsage && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new Error("CA certificate key usage does not allow keyCertSign");
  }
  const certificatePublicKey = new Uint8Array(certificate.publicKey.rawData);
  if (spkiToRawEd25519PublicKey(certificatePublicKey) === undefined) {
    throw new Error("CA certificate key is not Ed25519");
  }

  const privateKey = createPrivateKey(material.privateKeyPem);
  const derivedPublicKey = new Uint8Array(
    createPublicKey(privateKey).export({ format: "der", type: "spki" }),
  );
  if (!bytesEqual(derivedPublicKey, certificatePublicKey)) {
    throw new Error("CA private key does not belong to the CA certificate");
  }
  const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
  const signingKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  return {
    domain,
    certificate,
    certificatePem: certificate.toString("pem"),
    certificateDer: new Uint8Array(certificate.rawData),
    signingKey,
  };
}

export function domainOfCaCertificate(certificate: x509.X509Certificate): string | undefined {
  const commonNames = certificate.subjectName.getField("CN");
  const commonName = commonNames.length === 1 ? commonNames[0] : undefined;
  if (commonName === undefined || !commonName.endsWith(CA_COMMON_NAME_SUFFIX)) return undefined;
  const domain = commonName.slice(0, -CA_COMMON_NAME_SUFFIX.length);
  return isValidDomain(domain) ? domain : undefined;
}
