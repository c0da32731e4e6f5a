import { KEY_PACKAGE_VALIDITY_SECONDS } from "./key-package-pool.js";
import { KEY_PACKAGE_RENEW_BEFORE_MS } from "./key-package-renewal.js";

/**
 * A device renews its credential (a new certificate for the same signature key, after a fresh proof of
 * possession) while the current one still outlives every KeyPackage it would put it in: so no
 * KeyPackage ever carries a credential that expires before it does, and a new device join or a
 * KeyPackage made later carries the renewed one. Pure.
 */

/** How long before its expiry a credential is renewed: a KeyPackage's life and the renewal margin. */
export const CREDENTIAL_RENEW_BEFORE_MS = KEY_PACKAGE_VALIDITY_SECONDS * 1000 + KEY_PACKAGE_RENEW_BEFORE_MS;

/** Whether the credential expiring at `notAfterIso` is to be renewed at `nowMs`. */
export function credentialRenewalDue(
  notAfterIso: string,
  nowMs: number,
  renewBeforeMs = CREDENTIAL_RENEW_BEFORE_MS,
): boolean {
  const notAfter = Date.parse(notAfterIso);
  return Number.isNaN(notAfter) || notAfter - nowMs < renewBeforeMs;
}
