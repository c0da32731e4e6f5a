import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import { availableParallelism } from "node:os";
import { digestHeaderFor } from "./digest.js";

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
  signingString: Buffer;
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
    signingString: Buffer.from(signingString, "utf8"),
    algorithm: keyType === "rsa" ? "rsa-sha256" : "hs2019",
    digest: keyType === "rsa" ? "sha256" : null,
  };
}

function finish(prepared: PreparedSignature, keyId: string, signature: Buffer): Record<string, string> {
  prepared.headers.signature =
    `keyId="${keyId}",algorithm="${prepared.algorithm}",headers="${prepared.signedNames.join(" ")}",` +
    `signature="${signature.toString("base64")}"`;
  return prepared.headers;
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
  return finish(prepared, key.keyId, sign(prepared.digest, prepared.signingString, key.privateKey));
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
    sign(prepared.digest, prepared.signingString, key.privateKey, (error, signature) => {
      if (error) reject(error);
      else resolve(finish(prepared, key.keyId, signature));
    });
  });
}

export interface RequestSigner {
  /**
   * The headers of `signRequest`. RSA signatures run on the thread pool, at most `concurrency` at a
   * time per key; Ed25519 signatures (tens of microseconds) run inline, cheaper than a thread hop.
   */
  sign(request: OutgoingRequest, key: SigningKey, options?: { now?: Date }): Promise<Record<string, string>>;
}

/**
 * One core is left to the event loop. A libuv worker woken while every core is busy preempts the
 * thread that woke it, so with as many signers as cores the event loop stalls for about a whole
 * signature each time it hands one out (measured on 2 cores: fewer deliveries per second, not more).
 */
export function defaultSigningConcurrency(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Copies of one private key, each used by one signature at a time, and the callers waiting for one. */
interface KeyLanes {
  readonly idle: KeyObject[];
  readonly waiting: Array<(copy: KeyObject) => void>;
  created: number;
}

/**
 * A signer for many concurrent requests. node:crypto locks a key object while a thread-pool job
 * signs with it, and handing the next job the same key object blocks the event loop until that
 * signature is done; so each signature in flight gets its own copy of the key (made once, from its
 * PKCS#8 form), and callers beyond `concurrency` wait their turn, first come first served.
 */
export function createRequestSigner(options: { concurrency?: number } = {}): RequestSigner {
  const concurrency = Math.max(1, options.concurrency ?? defaultSigningConcurrency());
  const lanesByKey = new WeakMap<KeyObject, KeyLanes>();

  function lanesOf(privateKey: KeyObject): KeyLanes {
    let lanes = lanesByKey.get(privateKey);
    if (!lanes) {
      lanes = { idle: [privateKey], waiting: [], created: 1 };
      lanesByKey.set(privateKey, lanes);
    }
    return lanes;
  }

  function acquire(privateKey: KeyObject, lanes: KeyLanes): KeyObject | Promise<KeyObject> {
    const idle = lanes.idle.pop();
    if (idle) return idle;
    if (lanes.created < concurrency) {
      lanes.created++;
      return createPrivateKey({
        key: privateKey.export({ type: "pkcs8", format: "der" }),
        format: "der",
        type: "pkcs8",
      });
    }
    return new Promise((resolve) => lanes.waiting.push(resolve));
  }

  function release(lanes: KeyLanes, copy: KeyObject): void {
    const next = lanes.waiting.shift();
    if (next) next(copy);
    else lanes.idle.push(copy);
  }

  return {
    async sign(request, key, signOptions = {}) {
      if (key.privateKey.asymmetricKeyType !== "rsa") return signRequest(request, key, signOptions);
      const lanes = lanesOf(key.privateKey);
      const copy = await acquire(key.privateKey, lanes);
      try {
        return await signRequestAsync(request, { keyId: key.keyId, privateKey: copy }, signOptions);
      } finally {
        release(lanes, copy);
      }
    },
  };
}
