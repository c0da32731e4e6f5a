import { type KeyObject, sign } from "node:crypto";
import { digestHeaderFor } from "./digest.js";
import { createSigningThreadPool } from "./signing-threads.js";

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
}

interface PreparedSignature {
  headers: Record<string, string>;
  signedNames: string[];
  /** The draft-cavage signing string (signed as UTF-8). */
  signingString: string;
  algorithm: "rsa-sha256" | "hs2019";
  /** node:crypto's digest argument: sha256 for RSA, none for Ed25519. */
  digest: "sha256" | null;
}

/** Everything but the signature itself: the header set and the signing string (pure). */
function prepare(request: OutgoingRequest, key: SigningKey, now: Date): PreparedSignature {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers.host = url.host;
  headers.date = now.toUTCString();
  if (request.body !== undefined) headers.digest = digestHeaderFor(request.body);
  else delete headers.digest;

  const signedNames = ["(request-target)", "host", "date"];
  if (headers.digest !== undefined) signedNames.push("digest");
  if (headers["content-type"] !== undefined) signedNames.push("content-type");
  if (headers.accept !== undefined) signedNames.push("accept");
  const requestTarget = `${request.method.toLowerCase()} ${url.pathname}${url.search}`;
  const signingString = signedNames
    .map((name) => (name === "(request-target)" ? `${name}: ${requestTarget}` : `${name}: ${headers[name]}`))
    .join("\n");

  const keyType = key.privateKey.asymmetricKeyType;
  if (keyType !== "rsa" && keyType !== "ed25519") {
    throw new Error(`cannot sign with a ${keyType} key (RSA or Ed25519 only)`);
  }
  return {
    headers,
    signedNames,
    signingString,
    algorithm: keyType === "rsa" ? "rsa-sha256" : "hs2019",
    digest: keyType === "rsa" ? "sha256" : null,
  };
}

function finish(prepared: PreparedSignature, keyId: string, signatureBase64: string): Record<string, string> {
  prepared.headers.signature =
    `keyId="${keyId}",algorithm="${prepared.algorithm}",headers="${prepared.signedNames.join(" ")}",` +
    `signature="${signatureBase64}"`;
  return prepared.headers;
}

function signInline(prepared: PreparedSignature, privateKey: KeyObject): string {
  return sign(prepared.digest, Buffer.from(prepared.signingString, "utf8"), privateKey).toString("base64");
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
  options: { now?: Date } = {},
): Record<string, string> {
  const prepared = prepare(request, key, options.now ?? new Date());
  return finish(prepared, key.keyId, signInline(prepared, key.privateKey));
}

/**
 * The same headers as `signRequest`, with the private-key operation run on libuv's thread pool:
 * an RSA-2048 signature costs about half a millisecond of CPU, so a delivery worker signing on the
 * main thread uses one core; this lets signing use the others while the event loop keeps sending.
 */
export function signRequestAsync(
  request: OutgoingRequest,
  key: SigningKey,
  options: { now?: Date } = {},
): Promise<Record<string, string>> {
  const prepared = prepare(request, key, options.now ?? new Date());
  return new Promise((resolve, reject) => {
    sign(prepared.digest, Buffer.from(prepared.signingString, "utf8"), key.privateKey, (error, signature) => {
      if (error) reject(error);
      else resolve(finish(prepared, key.keyId, signature.toString("base64")));
    });
  });
}

export interface RequestSigner {
  /**
   * The headers of `signRequest`. RSA signatures run on the signer's signing threads; Ed25519
   * signatures (tens of microseconds) run inline, cheaper than a thread hop.
   */
  sign(request: OutgoingRequest, key: SigningKey, options?: { now?: Date }): Promise<Record<string, string>>;
  /** Stops the signing threads (idle threads never keep the process alive, so this is optional). */
  close(): Promise<void>;
}

/**
 * A signer for many concurrent requests. RSA signatures go to dedicated signing threads (at most
 * `threads`, default cores - 1) that work through their own queues back to back, so signing never
 * waits for a busy event loop between two signatures; each key is sent to a thread once.
 */
export function createRequestSigner(options: { threads?: number } = {}): RequestSigner {
  const signingThreads = createSigningThreadPool(options);
  let closed = false;
  return {
    async sign(request, key, signOptions = {}) {
      if (closed) throw new Error("the request signer is closed");
      const prepared = prepare(request, key, signOptions.now ?? new Date());
      if (prepared.digest === null) {
        return finish(prepared, key.keyId, signInline(prepared, key.privateKey));
      }
      const signatureBase64 = await signingThreads.sign(
        key.privateKey,
        prepared.digest,
        prepared.signingString,
      );
      return finish(prepared, key.keyId, signatureBase64);
    },
    close() {
      closed = true;
      return signingThreads.close();
    },
  };
}
