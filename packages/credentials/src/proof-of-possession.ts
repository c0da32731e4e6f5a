import { type KeyObject, randomBytes, sign, verify } from "node:crypto";
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  ed25519PrivateKeyObject,
  ed25519PublicKeyObject,
} from "./ed25519.js";
import { type ClientIdentity, validateClientIdentity } from "./identifiers.js";

/**
 * Before issuing, the domain's CA checks that the requesting client holds the private half of the MLS
 * signature key it wants certified: the client signs (plain Ed25519, no MLS label) the UTF-8 bytes of
 *
 *   "mimi-credential-request\n" + domain + "\n" + user + "\n" + clientId + "\n" + challenge
 *
 * The first line keeps this signature from being valid in any other context (MLS signatures start
 * with "MLS 1.0 "), and none of the fields can contain a newline, so the encoding is unambiguous.
 */
export const PROOF_OF_POSSESSION_CONTEXT = "mimi-credential-request";

const CHALLENGE_BYTES = 32;
const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/; // base64url without padding of 32 bytes

export interface ProofOfPossessionFields extends ClientIdentity {
  challenge: string;
}

/** A fresh challenge; the server must remember it and accept it only once. */
export function createChallenge(): { challenge: string } {
  return { challenge: randomBytes(CHALLENGE_BYTES).toString("base64url") };
}

export function isWellFormedChallenge(challenge: string): boolean {
  return CHALLENGE_PATTERN.test(challenge);
}

/** The exact bytes the client signs; throws if a field cannot appear in a credential. */
export function proofOfPossessionMessage(fields: ProofOfPossessionFields): Uint8Array {
  const valid = validateClientIdentity(fields);
  if (!valid.ok) throw new TypeError(valid.detail);
  if (!isWellFormedChallenge(fields.challenge)) throw new TypeError("challenge is not 32 bytes of base64url");
  const text = [
    PROOF_OF_POSSESSION_CONTEXT,
    fields.domain,
    fields.user,
    fields.clientId,
    fields.challenge,
  ].join("\n");
  return new TextEncoder().encode(text);
}

/** Client side: signs the proof with the MLS signature private key (raw seed, PKCS#8 DER or KeyObject). */
export function signProofOfPossession(
  signaturePrivateKey: Uint8Array | KeyObject,
  fields: ProofOfPossessionFields,
): Uint8Array {
  const message = proofOfPossessionMessage(fields);
  return new Uint8Array(sign(null, message, ed25519PrivateKeyObject(signaturePrivateKey)));
}

/** Server side: true only if `signature` is the key's Ed25519 signature over these exact fields. */
export function verifyProofOfPossession(
  proof: ProofOfPossessionFields & { signaturePublicKey: Uint8Array; signature: Uint8Array },
): boolean {
  if (proof.signaturePublicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  if (proof.signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  let message: Uint8Array;
  try {
    message = proofOfPossessionMessage(proof);
  } catch {
    return false;
  }
  try {
    return verify(null, message, ed25519PublicKeyObject(proof.signaturePublicKey), proof.signature);
  } catch {
    // Not a valid curve point.
    return false;
  }
}
