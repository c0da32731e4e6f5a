import { constants, type KeyObject, verify } from "node:crypto";

/** A request as received by a node:http server. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query exactly as received (`request.url` in node:http). */
  readonly path: string;
  /** node:http's lowercase header map. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: Uint8Array;
}

export type VerifyFailureReason =
  | "missingSignature"
  | "malformedSignature"
  | "unsupportedAlgorithm"
  | "missingDigest"
  | "digestMismatch"
  | "dateMissing"
  | "dateOutOfWindow"
  | "requestTargetNotSigned"
  | "keyFetchError"
  | "invalidSignature";

export interface VerifiedSignature {
  readonly ok: true;
  readonly keyId: string;
  readonly keyOwner: string;
  readonly scheme: "cavage" | "rfc9421";
}

export interface VerifyFailure {
  readonly ok: false;
  readonly reason: VerifyFailureReason;
  readonly detail: string;
}

export type VerifyOutcome = VerifiedSignature | VerifyFailure;

export function fail(reason: VerifyFailureReason, detail: string): VerifyFailure {
  return { ok: false, reason, detail };
}

/** A header's value as one string: repeated fields joined with ", ", surrounding space trimmed. */
export function headerValue(headers: ReceivedRequest["headers"], name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    const match = Object.keys(headers).find((key) => key.toLowerCase() === name);
    value = match === undefined ? undefined : headers[match];
  }
  if (value === undefined) return undefined;
  if (typeof value === "string") return value.trim();
  return value.map((part) => part.trim()).join(", ");
}

/**
 * Mastodon's acceptance window: a signature is created no later than `skew` in the future and,
 * unless it says otherwise, expires five minutes after creation (never more than twelve hours),
 * with `skew` of tolerance after expiry.
 */
export function checkTimeWindow(
  createdSeconds: number,
  expiresSeconds: number | undefined,
  nowSeconds: number,
  clockSkewSeconds: number,
): VerifyFailure | undefined {
  const defaultLifetimeSeconds = 5 * 60;
  const maxLifetimeSeconds = 12 * 60 * 60;
  const expires = Math.min(
    expiresSeconds ?? createdSeconds + defaultLifetimeSeconds,
    createdSeconds + maxLifetimeSeconds,
  );
  if (createdSeconds > nowSeconds + clockSkewSeconds) {
    return fail("dateOutOfWindow", `signature created ${createdSeconds - nowSeconds}s in the future`);
  }
  if (nowSeconds > expires + clockSkewSeconds) {
    return fail("dateOutOfWindow", `signature expired ${nowSeconds - expires}s ago`);
  }
  return undefined;
}

export type SignatureAlgorithm = "rsa-v1_5-sha256" | "rsa-pss-sha512" | "ed25519";

/** Verifies raw signature bytes; false (never a throw) for a wrong key type or a bad signature. */
export function verifyWithAlgorithm(
  algorithm: SignatureAlgorithm,
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const type = publicKey.asymmetricKeyType;
  try {
    switch (algorithm) {
      case "rsa-v1_5-sha256":
        return type === "rsa" && verify("sha256", data, publicKey, signature);
      case "rsa-pss-sha512":
        return (
          (type === "rsa" || type === "rsa-pss") &&
          verify(
            "sha512",
            data,
            { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
            signature,
          )
        );
      case "ed25519":
        return type === "ed25519" && verify(null, data, publicKey, signature);
    }
  } catch {
    return false;
  }
}
