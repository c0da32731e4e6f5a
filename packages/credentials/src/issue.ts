import { type DomainCa, randomSerialNumber } from "./ca.js";
import { rawEd25519PublicKeyToSpki } from "./ed25519.js";
import { acctUri, type ClientIdentity, clientIdUri, validateClientIdentity } from "./identifiers.js";
import * as x509 from "./x509-library.js";

export const DEFAULT_CLIENT_CERTIFICATE_VALIDITY_DAYS = 90;
/** Default notBefore is backdated this much so verifiers whose clocks run a little behind accept it. */
export const NOT_BEFORE_BACKDATE_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ClientCertificateRequest extends ClientIdentity {
  /** The client's MLS signature public key: raw 32-byte Ed25519. */
  signaturePublicKey: Uint8Array;
  notBefore?: Date;
  /** Default: 90 days after notBefore, and never after the CA's own notAfter. */
  notAfter?: Date;
}

export interface IssuedClientCertificate {
  certificateDer: Uint8Array;
  /** Leaf first, then the CA: the `certificates` of an MLS x509 credential. */
  chainDer: Uint8Array[];
}

/**
 * Issues the leaf certificate of an MLS x509 credential. Its subject key is the client's MLS
 * signature key; its SubjectAltName holds two URIs: `acct:<user>@<domain>` and `mimi-client:<clientId>`.
 * The caller must already have authenticated the user and checked proof of possession of the key.
 */
export async function issueClientCertificate(
  ca: DomainCa,
  request: ClientCertificateRequest,
): Promise<IssuedClientCertificate> {
  const valid = validateClientIdentity(request);
  if (!valid.ok) throw new TypeError(valid.detail);
  if (request.domain !== ca.domain) {
    throw new Error(`the CA of ${ca.domain} cannot issue credentials for ${request.domain}`);
  }
  const spki = rawEd25519PublicKeyToSpki(request.signaturePublicKey);

  const notBefore = request.notBefore ?? new Date(Date.now() - NOT_BEFORE_BACKDATE_MS);
  const requestedNotAfter =
    request.notAfter ?? new Date(notBefore.getTime() + DEFAULT_CLIENT_CERTIFICATE_VALIDITY_DAYS * DAY_MS);
  // A leaf outliving its issuer would be rejected anyway once the CA expires; say so in the certificate.
  const notAfter = new Date(Math.min(requestedNotAfter.getTime(), ca.certificate.notAfter.getTime()));
  if (notAfter <= notBefore)
    throw new RangeError("notAfter must be later than notBefore (and the CA's expiry)");

  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: [{ CN: [`${request.user}@${request.domain}`] }],
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: new x509.PublicKey(spki),
    signingKey: ca.signingKey,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: acctUri(request.user, request.domain) },
        { type: "url", value: clientIdUri(request.clientId) },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(new x509.PublicKey(spki)),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
    ],
  });
  const certificateDer = new Uint8Array(certificate.rawData);
  return { certificateDer, chainDer: [certificateDer, ca.certificateDer] };
}
