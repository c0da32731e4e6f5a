import type { KeyObject } from "node:crypto";
import {
  buildCavageSigningString,
  type CavageSignatureParams,
  parseCavageSignature,
  verifyCavage,
} from "./cavage.js";
import { checkContentDigest, checkDigestHeader } from "./digest.js";
import type { KeyResolver, ResolvedKey } from "./keys.js";
import {
  checkTimeWindow,
  fail,
  headerValue,
  type ReceivedRequest,
  type SignatureAlgorithm,
  type VerifyFailure,
  type VerifyOutcome,
  verifyWithAlgorithm,
} from "./request.js";
import {
  buildRfc9421SignatureBase,
  collectMessageSignatures,
  coveredNames,
  type MessageSignature,
  type RequestContext,
  supportedRfc9421Algorithms,
} from "./rfc9421.js";
import { parseDictionary, StructuredFieldError } from "./structured-fields.js";

export interface VerifyOptions {
  readonly now?: Date;
  /** Tolerated clock difference; Mastodon's margin is one hour. */
  readonly clockSkewSeconds?: number;
  /** The scheme the request arrived with (for RFC 9421 @target-uri); behind TLS it is https. */
  readonly scheme?: "https" | "http";
}

export const DEFAULT_CLOCK_SKEW_SECONDS = 60 * 60;
/** More labelled RFC 9421 signatures than this are not examined (each may cost a key fetch). */
export const MAX_MESSAGE_SIGNATURES = 3;

const supportedCavageAlgorithms = new Set(["rsa-sha256", "hs2019"]);

/**
 * Resolves the key and checks the signature; when a cached key does not verify, the key document
 * is fetched once more, in case the sender rotated its key.
 */
async function verifyWithKey(
  keys: KeyResolver,
  keyId: string,
  check: (publicKey: KeyObject) => boolean,
): Promise<{ ok: true; key: ResolvedKey } | VerifyFailure> {
  const first = await keys.resolve(keyId, { refresh: false });
  if (!first.ok) return fail("keyFetchError", first.detail);
  if (check(first.key.publicKey)) return { ok: true, key: first.key };
  if (first.fromCache === false) return fail("invalidSignature", `signature does not verify with ${keyId}`);
  const refreshed = await keys.resolve(keyId, { refresh: true });
  if (!refreshed.ok) return fail("keyFetchError", refreshed.detail);
  if (check(refreshed.key.publicKey)) return { ok: true, key: refreshed.key };
  return fail("invalidSignature", `signature does not verify with ${keyId}, even after refetching the key`);
}

function checkBodyDigest(request: ReceivedRequest, covered: readonly string[]): VerifyFailure | undefined {
  const body = request.body ?? new Uint8Array(0);
  const coversDigest = covered.includes("digest");
  const coversContentDigest = covered.includes("content-digest");
  // Mastodon's rule: a POST must carry a signed body digest.
  if (request.method.toUpperCase() === "POST" && !coversDigest && !coversContentDigest) {
    return fail("missingDigest", "a POST must sign Digest or Content-Digest");
  }
  if (coversDigest) {
    const value = headerValue(request.headers, "digest");
    if (value === undefined) return fail("missingDigest", "Digest is signed but absent");
    const checked = checkDigestHeader(value, body);
    if (!checked.ok) return fail(checked.reason, checked.detail);
  }
  if (coversContentDigest) {
    const value = headerValue(request.headers, "content-digest");
    if (value === undefined) return fail("missingDigest", "Content-Digest is signed but absent");
    const checked = checkContentDigest(value, body);
    if (!checked.ok) return fail(checked.reason, checked.detail);
  }
  return undefined;
}

/**
 * The creation and expiry times the cavage signature vouches for. Only signed values count:
 * `created`/`expires` parameters are plain text in the header, so they are used only when
 * `(created)`/`(expires)` are in the signed `headers` list; otherwise anyone on the path could
 * replace a signed Date or stretch the window by appending `expires=`. (A signed `(created)` or
 * `(expires)` without its parameter, or outside hs2019, fails later, when the signing string is built.)
 */
function cavageSignedWindow(
  params: CavageSignatureParams,
  request: ReceivedRequest,
): { created: number; expires: number | undefined } | VerifyFailure {
  const expires = params.headers.includes("(expires)") ? params.expires : undefined;
  if (params.headers.includes("(created)") && params.created !== undefined) {
    return { created: params.created, expires };
  }
  if (!params.headers.includes("date")) return fail("dateMissing", "neither Date nor (created) is signed");
  const date = headerValue(request.headers, "date");
  if (date === undefined) return fail("dateMissing", "Date is signed but absent");
  const millis = Date.parse(date);
  if (Number.isNaN(millis)) return fail("dateMissing", `Date ${date} does not parse`);
  return { created: Math.floor(millis / 1000), expires };
}

async function verifyCavageRequest(
  signatureHeader: string,
  request: ReceivedRequest,
  keys: KeyResolver,
  nowSeconds: number,
  clockSkewSeconds: number,
): Promise<VerifyOutcome> {
  const parsed = parseCavageSignature(signatureHeader);
  if (!parsed.ok) return fail("malformedSignature", parsed.detail);
  const params = parsed.params;
  if (!supportedCavageAlgorithms.has(params.algorithm)) {
    return fail("unsupportedAlgorithm", `algorithm ${params.algorithm} (only rsa-sha256 and hs2019)`);
  }
  if (!params.headers.includes("date") && !params.headers.includes("(created)")) {
    return fail("dateMissing", "Date or (created) must be signed");
  }
  if (!params.headers.includes("(request-target)")) {
    return fail("requestTargetNotSigned", "(request-target) must be signed");
  }
  if (request.method.toUpperCase() === "GET" && !params.headers.includes("host")) {
    return fail("requestTargetNotSigned", "Host must be signed on GET");
  }
  const signedTimes = cavageSignedWindow(params, request);
  if ("ok" in signedTimes) return signedTimes;
  const outOfWindow = checkTimeWindow(signedTimes.created, signedTimes.expires, nowSeconds, clockSkewSeconds);
  if (outOfWindow) return outOfWindow;
  const digestProblem = checkBodyDigest(request, params.headers);
  if (digestProblem) return digestProblem;

  const withQuery = buildCavageSigningString(params, request, request.path);
  if (!withQuery.ok) return fail("malformedSignature", withQuery.detail);
  // Older Mastodon releases leave the query out of (request-target); accept that form too.
  const queryless = request.path.includes("?")
    ? buildCavageSigningString(params, request, request.path.slice(0, request.path.indexOf("?")))
    : undefined;
  const candidates = [withQuery.text, ...(queryless?.ok ? [queryless.text] : [])];
  const verified = await verifyWithKey(keys, params.keyId, (publicKey) =>
    candidates.some((text) => verifyCavage(params.algorithm, publicKey, text, params.signature)),
  );
  if (!verified.ok) return verified;
  return { ok: true, keyId: params.keyId, keyOwner: verified.key.owner, scheme: "cavage" };
}

function algorithmsToTry(signature: MessageSignature): SignatureAlgorithm[] | VerifyFailure {
  if (signature.alg !== undefined) {
    const named = supportedRfc9421Algorithms.find((algorithm) => algorithm === signature.alg);
    if (named === undefined) return fail("unsupportedAlgorithm", `alg ${signature.alg} is not supported`);
    return [named];
  }
  // Without `alg`, the key decides; an RSA key may have signed with either RSA scheme.
  return [...supportedRfc9421Algorithms];
}

async function verifyMessageSignature(
  signature: MessageSignature,
  request: ReceivedRequest,
  keys: KeyResolver,
  context: RequestContext,
  nowSeconds: number,
  clockSkewSeconds: number,
): Promise<VerifyOutcome> {
  if (signature.keyId === undefined)
    return fail("malformedSignature", `${signature.label}: keyid is missing`);
  if (signature.created === undefined) return fail("dateMissing", `${signature.label}: created is missing`);
  const algorithms = algorithmsToTry(signature);
  if (!Array.isArray(algorithms)) return algorithms;
  const covered = coveredNames(signature.input);
  if (!covered.includes("@method"))
    return fail("requestTargetNotSigned", `${signature.label}: @method is not signed`);
  if (!covered.some((name) => name === "@target-uri" || name === "@path" || name === "@request-target")) {
    return fail("requestTargetNotSigned", `${signature.label}: neither @target-uri nor @path is signed`);
  }
  // created/expires are parameters of the covered inner list, serialised into the signature base's
  // "@signature-params" line, so they are signed: a changed or added expires breaks the signature.
  const outOfWindow = checkTimeWindow(signature.created, signature.expires, nowSeconds, clockSkewSeconds);
  if (outOfWindow) return outOfWindow;
  const digestProblem = checkBodyDigest(request, covered);
  if (digestProblem) return digestProblem;
  const base = buildRfc9421SignatureBase(signature.input, request, context);
  if (!base.ok) return fail("malformedSignature", `${signature.label}: ${base.detail}`);
  const data = Buffer.from(base.base, "utf8");
  const keyId = signature.keyId;
  const verified = await verifyWithKey(keys, keyId, (publicKey) =>
    algorithms.some((algorithm) => verifyWithAlgorithm(algorithm, publicKey, data, signature.signature)),
  );
  if (!verified.ok) return verified;
  return { ok: true, keyId, keyOwner: verified.key.owner, scheme: "rfc9421" };
}

async function verifyRfc9421Request(
  inputHeader: string,
  request: ReceivedRequest,
  keys: KeyResolver,
  context: RequestContext,
  nowSeconds: number,
  clockSkewSeconds: number,
): Promise<VerifyOutcome> {
  const signatureHeader = headerValue(request.headers, "signature");
  if (signatureHeader === undefined) return fail("missingSignature", "Signature-Input without Signature");
  let collected: ReturnType<typeof collectMessageSignatures>;
  try {
    collected = collectMessageSignatures(parseDictionary(inputHeader), parseDictionary(signatureHeader));
  } catch (error) {
    const detail = error instanceof StructuredFieldError ? error.message : String(error);
    return fail("malformedSignature", `Signature-Input/Signature do not parse: ${detail}`);
  }
  if (!collected.ok) return fail("malformedSignature", collected.detail);
  let firstFailure: VerifyOutcome | undefined;
  for (const signature of collected.signatures.slice(0, MAX_MESSAGE_SIGNATURES)) {
    const outcome = await verifyMessageSignature(
      signature,
      request,
      keys,
      context,
      nowSeconds,
      clockSkewSeconds,
    );
    if (outcome.ok) return outcome;
    firstFailure ??= outcome;
  }
  return firstFailure ?? fail("malformedSignature", "no signature to check");
}

/**
 * Verifies a received request's HTTP signature with Mastodon's acceptance rules: draft-cavage
 * (`Signature`) or RFC 9421 (`Signature-Input` + `Signature`). The key owner is returned; checking
 * it against the activity's actor is the caller's job (see `checkKeyOwner`).
 */
export async function verifyRequest(
  request: ReceivedRequest,
  keys: KeyResolver,
  options: VerifyOptions = {},
): Promise<VerifyOutcome> {
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const clockSkewSeconds = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const inputHeader = headerValue(request.headers, "signature-input");
  if (inputHeader !== undefined) {
    const context: RequestContext = { scheme: options.scheme ?? "https" };
    return verifyRfc9421Request(inputHeader, request, keys, context, nowSeconds, clockSkewSeconds);
  }
  const signatureHeader = headerValue(request.headers, "signature");
  if (signatureHeader === undefined || signatureHeader === "") {
    return fail("missingSignature", "no Signature or Signature-Input header");
  }
  return verifyCavageRequest(signatureHeader, request, keys, nowSeconds, clockSkewSeconds);
}
