import type { Credential } from "ts-mls";

/** Decides whether a credential is acceptable and bound to the signature key (the MLS Authentication Service). */
export type ValidateCredential = (credential: Credential, signaturePublicKey: Uint8Array) => Promise<boolean>;

/** Accepts every credential: only for tests and for trusted local state. */
export const acceptAnyCredential: ValidateCredential = async () => true;
