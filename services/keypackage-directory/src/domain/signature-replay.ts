import { createHash } from "node:crypto";
import {
  type Dictionary,
  type InnerList,
  parseCavageSignature,
  parseDictionary,
  type ReceivedRequest,
  type VerifiedSignature,
} from "@mimi/http-signatures";

/**
 * A signed claim is answered once. What is remembered is the signature that verified: a replay must
 * carry the very same signature bytes (anything it changes that the signature covers makes it fail),
 * and each is remembered for as long as the verifier would still accept it.
 *
 * The key is a digest of the signature bytes alone, not of the keyId: a draft-cavage keyId is not
 * covered by the signature, and an actor (or anyone copying a public key into their own actor) can
 * publish one key under several ids, so a replay naming another id would otherwise look new. Two
 * different requests never share signature bytes.
 */

/**
 * Mastodon's lifetime rules as @mimi/http-signatures `verifyRequest` applies them: a signature without
 * `expires` lasts five minutes from its creation, none more than twelve hours, and `clockSkewSeconds`
 * of tolerance follows. The tests hold these against the verifier itself.
 */
export const DEFAULT_SIGNATURE_LIFETIME_SECONDS = 5 * 60;
export const MAX_SIGNATURE_LIFETIME_SECONDS = 12 * 60 * 60;
/** The verifier examines at most this many RFC 9421 signatures of a request; the first that verifies wins. */
const EXAMINED_MESSAGE_SIGNATURES = 3;

/** One signature to mark as used, remembered for `ttlSeconds`. */
export interface SignatureUse {
  key: string;
  ttlSeconds: number;
}

export type SignatureUses =
  | { ok: true; uses: SignatureUse[] }
  | { ok: false; reason: "dateOutOfWindow" | "malformedSignature"; detail: string };

/** The last second (epoch) in which the verifier accepts a signature created and expiring as given. */
export function acceptedUntilSeconds(
  createdSeconds: number,
  expiresSeconds: number | undefined,
  clockSkewSeconds: number,
): number {
  const expires = Math.min(
    expiresSeconds ?? createdSeconds + DEFAULT_SIGNATURE_LIFETIME_SECONDS,
    createdSeconds + MAX_SIGNATURE_LIFETIME_SECONDS,
  );
  return expires + clockSkewSeconds;
}

export function signatureReplayKey(signature: Uint8Array): string {
  return createHash("sha256").update("mimi-claim-signature\0").update(signature).digest("base64url");
}

type Headers = ReceivedRequest["headers"];

/** A header as the verifier reads it: repeated fields joined with ", ", surrounding space trimmed. */
function headerText(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === "string") return value.trim();
  return value.map((part) => part.trim()).join(", ");
}

/**
 * What to mark as used for a request `verifyRequest` accepted at `nowSeconds`: the signature that
 * verified, with the time it stays acceptable (+1 s, as the verifier counts in whole seconds).
 *
 * - draft-cavage: the one `Signature`. Its `expires` parameter counts only when `(expires)` is among
 *   the signed headers: an unsigned one could be added to a replay to stretch the window to twelve
 *   hours, past the time the signature is remembered, so a signature accepted only thanks to an
 *   unsigned `expires` is refused (`dateOutOfWindow`).
 * - RFC 9421: which of the examined signatures verified is not reported, so every examined one with
 *   the verified keyid and a current window is marked. The verified one is always among them (its
 *   keyid and times are covered by it); marking the others costs nothing, and a replay that adds
 *   decoys in front of the stolen signature still meets the stolen one.
 */
export function signatureUses(
  headers: Headers,
  verified: VerifiedSignature,
  nowSeconds: number,
  clockSkewSeconds: number,
): SignatureUses {
  const candidates =
    verified.scheme === "cavage"
      ? cavageCandidate(headers, clockSkewSeconds)
      : rfc9421Candidates(headers, verified.keyId, clockSkewSeconds);
  if (!Array.isArray(candidates)) return candidates;
  const byKey = new Map<string, SignatureUse>();
  let latest: number | undefined;
  for (const candidate of candidates) {
    latest = Math.max(latest ?? candidate.acceptedUntil, candidate.acceptedUntil);
    if (candidate.acceptedUntil < nowSeconds) continue;
    const key = signatureReplayKey(candidate.signature);
    byKey.set(key, { key, ttlSeconds: candidate.acceptedUntil - nowSeconds + 1 });
  }
  if (byKey.size > 0) return { ok: true, uses: [...byKey.values()] };
  if (latest !== undefined) {
    return {
      ok: false,
      reason: "dateOutOfWindow",
      detail: `signature expired ${nowSeconds - latest}s ago (an unsigned expires parameter does not count)`,
    };
  }
  return {
    ok: false,
    reason: "malformedSignature",
    detail: "the verified signature could not be identified",
  };
}

interface Candidate {
  signature: Uint8Array;
  acceptedUntil: number;
}

type CandidateFailure = Extract<SignatureUses, { ok: false }>;

function malformed(detail: string): CandidateFailure {
  return { ok: false, reason: "malformedSignature", detail };
}

function cavageCandidate(headers: Headers, clockSkewSeconds: number): Candidate[] | CandidateFailure {
  const parsed = parseCavageSignature(headerText(headers, "signature") ?? "");
  if (!parsed.ok) return malformed(parsed.detail);
  const params = parsed.params;
  let created: number;
  // The verifier's choice: a signed (created), else the signed Date.
  if (params.headers.includes("(created)") && params.created !== undefined) {
    created = params.created;
  } else {
    const millis = Date.parse(headerText(headers, "date") ?? "");
    if (Number.isNaN(millis)) return malformed("Date does not parse");
    created = Math.floor(millis / 1000);
  }
  const expires = params.headers.includes("(expires)") ? params.expires : undefined;
  return [
    { signature: params.signature, acceptedUntil: acceptedUntilSeconds(created, expires, clockSkewSeconds) },
  ];
}

function integerParam(params: InnerList["params"], name: string): number | undefined {
  const value = params.find(([key]) => key === name)?.[1];
  return value?.type === "integer" ? value.value : undefined;
}

function rfc9421Candidates(
  headers: Headers,
  keyId: string,
  clockSkewSeconds: number,
): Candidate[] | CandidateFailure {
  let inputs: Dictionary;
  let signatures: Dictionary;
  try {
    inputs = parseDictionary(headerText(headers, "signature-input") ?? "");
    signatures = parseDictionary(headerText(headers, "signature") ?? "");
  } catch {
    return malformed("Signature-Input/Signature do not parse");
  }
  const candidates: Candidate[] = [];
  let examined = 0;
  // The verifier's order: Signature-Input members that have a Signature value, the first few of them.
  for (const [label, input] of inputs) {
    const value = signatures.get(label);
    if (value === undefined) continue;
    if (examined === EXAMINED_MESSAGE_SIGNATURES) break;
    examined += 1;
    if (input.kind !== "innerList" || value.kind !== "item" || value.value.type !== "bytes") continue;
    const keyid = input.params.find(([key]) => key === "keyid")?.[1];
    if (keyid?.type !== "string" || keyid.value !== keyId) continue;
    const created = integerParam(input.params, "created");
    if (created === undefined) continue;
    const expires = integerParam(input.params, "expires");
    candidates.push({
      signature: value.value.value,
      acceptedUntil: acceptedUntilSeconds(created, expires, clockSkewSeconds),
    });
  }
  return candidates;
}
