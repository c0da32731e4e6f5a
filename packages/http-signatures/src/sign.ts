import { type KeyObject, sign } from "node:crypto";
import { contentDigestHeaderFor, digestHeaderFor } from "./digest.js";
import { buildRfc9421SignatureBase } from "./rfc9421.js";
import { createSigningThreadPool } from "./signing-threads.js";
import { type BareItem, type Item, serializeInnerList } from "./structured-fields.js";

export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

export interface SigningKey {
  /** `<actor>#main-key` */
  readonly keyId: string;
  readonly privateKey: KeyObject;
  /**
   * The same actor's Ed25519 key (FEP-521a `assertionMethod`, `<actor>#ed25519-key`), when it has
   * one: RFC 9421 signatures are made with it, draft-cavage ones with `privateKey`.
   */
  readonly ed25519?: SigningKey;
}

/** `cavage`: draft-cavage `Signature` (Mastodon). `rfc9421`: `Signature-Input` + `Signature`. */
export type SignatureScheme = "cavage" | "rfc9421";

/** The label of the RFC 9421 signature this provider sends. */
export const RFC9421_LABEL = "sig1";

interface PreparedSignature {
  headers: Record<string, string>;
  /** What is signed, as UTF-8: the cavage signing string or the RFC 9421 signature base. */
  signingString: string;
  /** node:crypto's digest argument: sha256 for RSA, none for Ed25519. */
  digest: "sha256" | null;
  /** Adds the signature headers once the signature is made. */
  finish(signatureBase64: string): Record<string, string>;
}

function keyAlgorithm(privateKey: KeyObject): "rsa" | "ed25519" {
  const keyType = privateKey.asymmetricKeyType;
  if (keyType !== "rsa" && keyType !== "ed25519") {
    throw new Error(`cannot sign with a ${keyType} key (RSA or Ed25519 only)`);
  }
  return keyType;
}

/** The caller's headers, lowercased, without anything this signer sets itself. */
function baseHeaders(request: OutgoingRequest, url: URL, now: Date): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  for (const name of ["digest", "content-digest", "signature", "signature-input"]) delete headers[name];
  headers.host = url.host;
  headers.date = now.toUTCString();
  return headers;
}

/** Everything but the draft-cavage signature itself: the header set and the signing string (pure). */
function prepareCavage(request: OutgoingRequest, key: SigningKey, now: Date): PreparedSignature {
  const url = new URL(request.url);
  const headers = baseHeaders(request, url, now);
  if (request.body !== undefined) headers.digest = digestHeaderFor(request.body);

  const signedNames = ["(request-target)", "host", "date"];
  if (headers.digest !== undefined) signedNames.push("digest");
  if (headers["content-type"] !== undefined) signedNames.push("content-type");
  if (headers.accept !== undefined) signedNames.push("accept");
  const requestTarget = `${request.method.toLowerCase()} ${url.pathname}${url.search}`;
  const signingString = signedNames
    .map((name) => (name === "(request-target)" ? `${name}: ${requestTarget}` : `${name}: ${headers[name]}`))
    .join("\n");

  const rsa = keyAlgorithm(key.privateKey) === "rsa";
  return {
    headers,
    signingString,
    digest: rsa ? "sha256" : null,
    finish(signatureBase64) {
      headers.signature =
        `keyId="${key.keyId}",algorithm="${rsa ? "rsa-sha256" : "hs2019"}",headers="${signedNames.join(" ")}",` +
        `signature="${signatureBase64}"`;
      return headers;
    },
  };
}

function component(name: string): Item {
  return { kind: "item", value: { type: "string", value: name }, params: [] };
}

/**
 * Everything but the RFC 9421 signature itself (pure). Covered: `@method`, `@target-uri`, `date`,
 * and `content-digest` (RFC 9530 SHA-256 of the body), `content-type` and `accept` when present;
 * parameters `created`, `keyid` and `alg` (`ed25519`, or `rsa-v1_5-sha256` for an RSA key).
 */
function prepareRfc9421(request: OutgoingRequest, key: SigningKey, now: Date): PreparedSignature {
  const url = new URL(request.url);
  const headers = baseHeaders(request, url, now);
  if (request.body !== undefined) headers["content-digest"] = contentDigestHeaderFor(request.body);
  const names = ["@method", "@target-uri", "date"];
  for (const name of ["content-digest", "content-type", "accept"]) {
    if (headers[name] !== undefined) names.push(name);
  }
  const rsa = keyAlgorithm(key.privateKey) === "rsa";
  const params: Array<readonly [string, BareItem]> = [
    ["created", { type: "integer", value: Math.floor(now.getTime() / 1000) }],
    ["keyid", { type: "string", value: key.keyId }],
    ["alg", { type: "string", value: rsa ? "rsa-v1_5-sha256" : "ed25519" }],
  ];
  const input = { kind: "innerList" as const, items: names.map(component), params };
  // The verifier's own base builder, so what is signed is exactly what a verifier rebuilds.
  const base = buildRfc9421SignatureBase(
    input,
    { method: request.method, path: `${url.pathname}${url.search}`, headers },
    { scheme: url.protocol === "http:" ? "http" : "https" },
  );
  if (!base.ok) throw new Error(`cannot build the RFC 9421 signature base: ${base.detail}`);
  return {
    headers,
    signingString: base.base,
    digest: rsa ? "sha256" : null,
    finish(signatureBase64) {
      headers["signature-input"] = `${RFC9421_LABEL}=${serializeInnerList(input)}`;
      headers.signature = `${RFC9421_LABEL}=:${signatureBase64}:`;
      return headers;
    },
  };
}

/** The key a scheme signs with: RFC 9421 uses the actor's Ed25519 key when it has one. */
export function keyForScheme(scheme: SignatureScheme, key: SigningKey): SigningKey {
  return scheme === "rfc9421" ? (key.ed25519 ?? key) : key;
}

function prepare(
  scheme: SignatureScheme,
  request: OutgoingRequest,
  key: SigningKey,
  now: Date,
): PreparedSignature {
  return scheme === "rfc9421"
    ? prepareRfc9421(request, keyForScheme(scheme, key), now)
    : prepareCavage(request, key, now);
}

function signInline(prepared: PreparedSignature, privateKey: KeyObject): string {
  return sign(prepared.digest, Buffer.from(prepared.signingString, "utf8"), privateKey).toString("base64");
}

export interface SignOptions {
  readonly now?: Date;
  /** Default `cavage` (Mastodon's); `rfc9421` signs with the key's Ed25519 key when it has one. */
  readonly scheme?: SignatureScheme;
}

/**
 * Signs an outgoing request the way Mastodon does (draft-cavage): the returned header set is the
 * caller's headers (lowercased) plus `host`, `date`, `digest` (when there is a body) and
 * `signature` over `(request-target) host date [digest] [content-type] [accept]`.
 * RSA keys sign as `rsa-sha256`; Ed25519 keys as `hs2019`.
 */
export function signRequest(
  request: OutgoingRequest,
  key: SigningKey,
  options: SignOptions = {},
): Record<string, string> {
  const scheme = options.scheme ?? "cavage";
  const prepared = prepare(scheme, request, key, options.now ?? new Date());
  return prepared.finish(signInline(prepared, keyForScheme(scheme, key).privateKey));
}

/**
 * The same headers as `signRequest`, with the private-key operation run on libuv's thread pool:
 * an RSA-2048 signature costs about half a millisecond of CPU, so a delivery worker signing on the
 * main thread uses one core; this lets signing use the others while the event loop keeps sending.
 */
export function signRequestAsync(
  request: OutgoingRequest,
  key: SigningKey,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const scheme = options.scheme ?? "cavage";
  const prepared = prepare(scheme, request, key, options.now ?? new Date());
  const privateKey = keyForScheme(scheme, key).privateKey;
  return new Promise((resolve, reject) => {
    sign(prepared.digest, Buffer.from(prepared.signingString, "utf8"), privateKey, (error, signature) => {
      if (error) reject(error);
      else resolve(prepared.finish(signature.toString("base64")));
    });
  });
}

export interface RequestSigner {
  /**
   * The headers of `signRequest`, the private-key operation (RSA or Ed25519) on the signer's signing
   * threads. An Ed25519 signature costs only tens of microseconds, but a delivery worker's event loop
   * is its bottleneck: with the signature on a signing thread it sends about 1.4 times as many
   * deliveries per second as with the signature inline (packages/benchmarks, `signatures`).
   */
  sign(request: OutgoingRequest, key: SigningKey, options?: SignOptions): Promise<Record<string, string>>;
  /** Stops the signing threads (idle threads never keep the process alive, so this is optional). */
  close(): Promise<void>;
}

/**
 * A signer for many concurrent requests. Signatures go to dedicated signing threads (at most
 * `threads`, default cores - 1) that work through their own queues back to back, so signing never
 * waits for a busy event loop between two signatures; each key is sent to a thread once.
 */
export function createRequestSigner(options: { threads?: number } = {}): RequestSigner {
  const signingThreads = createSigningThreadPool(options);
  let closed = false;
  return {
    async sign(request, key, signOptions = {}) {
      if (closed) throw new Error("the request signer is closed");
      const scheme = signOptions.scheme ?? "cavage";
      const prepared = prepare(scheme, request, key, signOptions.now ?? new Date());
      const privateKey = keyForScheme(scheme, key).privateKey;
      const signatureBase64 = await signingThreads.sign(privateKey, prepared.digest, prepared.signingString);
      return prepared.finish(signatureBase64);
    },
    close() {
      closed = true;
      return signingThreads.close();
    },
  };
}
