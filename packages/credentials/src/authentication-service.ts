import type { AuthenticationService, Credential, CredentialX509 } from "ts-mls";
import {
  type CredentialVerification,
  type IssuersFor,
  readClientCertificate,
  verifyClientCredential,
} from "./verify.js";

export interface MimiAuthenticationServiceOptions {
  issuersFor: IssuersFor;
  /** Clock for validity checks; default the system clock. */
  now?: () => Date;
  /** Called with the reason whenever a credential is refused (ts-mls itself only sees `false`). */
  onRejected?: (verification: Extract<CredentialVerification, { ok: false }>, credential: Credential) => void;
}

export interface MimiAuthenticationService extends AuthenticationService {
  /** The full verification result for a credential used with `signaturePublicKey`. */
  verify(credential: Credential, signaturePublicKey: Uint8Array): Promise<CredentialVerification>;
  /**
   * Who a credential names, after checking its chain, SANs and dates against the issuers of its
   * domain. It does not check which key the credential is used with: use it on credentials that
   * ts-mls has already validated together with their leaf's signature key, or call `verify`.
   */
  identify(credential: Credential): Promise<CredentialVerification>;
}

/** An MLS `x509` credential carrying `chainDer` (leaf first). */
export function x509Credential(chainDer: readonly Uint8Array[]): CredentialX509 {
  return { credentialType: "x509", certificates: [...chainDer] };
}

/**
 * The MLS Authentication Service of a MIMI client or server: accepts only `x509` credentials that
 * `verifyClientCredential` accepts for the leaf node's signature key.
 */
export function createMimiAuthenticationService(
  options: MimiAuthenticationServiceOptions,
): MimiAuthenticationService {
  const now = options.now ?? (() => new Date());

  async function verify(
    credential: Credential,
    signaturePublicKey: Uint8Array,
  ): Promise<CredentialVerification> {
    if (credential.credentialType !== "x509") {
      return {
        ok: false,
        reason: "malformed",
        detail: `credential type ${credential.credentialType} is not x509`,
      };
    }
    return verifyClientCredential(credential.certificates, signaturePublicKey, {
      issuersFor: options.issuersFor,
      now: now(),
    });
  }

  return {
    verify,
    async validateCredential(credential, signaturePublicKey) {
      const verification = await verify(credential, signaturePublicKey);
      if (!verification.ok) options.onRejected?.(verification, credential);
      return verification.ok;
    },
    async identify(credential) {
      if (credential.credentialType !== "x509") return verify(credential, new Uint8Array());
      const leafDer = credential.certificates[0];
      if (!leafDer) return { ok: false, reason: "malformed", detail: "empty certificate chain" };
      const leaf = readClientCertificate(leafDer);
      if (!leaf.ok) return leaf;
      return verify(credential, leaf.contents.signaturePublicKey);
    },
  };
}
