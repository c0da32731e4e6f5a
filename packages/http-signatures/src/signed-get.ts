import type { OutboundFailureReason, OutboundHttp } from "@mimi/outbound-http";
import { doubleKnock, processSchemeMemory, publishesMultikey, type SchemeMemory } from "./double-knock.js";
import { type SignatureScheme, type SigningKey, signRequest } from "./sign.js";

/** The `Accept` of a signed GET unless the caller names another. */
export const ACTIVITY_JSON_ACCEPT = "application/activity+json";

/**
 * Statuses that refuse this provider the document for good: it is not authorized, not allowed, or
 * the document does not exist. Other statuses (5xx, 429, 408, ...) may pass.
 */
const PERMANENT_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 410]);

/** Why a signed GET got no usable answer, when the address itself was not refused. */
export type SignedGetFailureReason =
  | Exclude<OutboundFailureReason, "blockedAddress" | "badUrl">
  /** A 2xx answer whose body is not UTF-8 JSON. */
  | "notJson"
  /** The signing key could not be loaded or could not sign (tried again on the next GET). */
  | "signingKey";

/**
 * What a GET signed as the instance actor produced. `url` is always the URL that answered, after
 * redirects: a document speaks only for that URL's origin, so callers check it (a key document is
 * bound to the key's origin; a channel's documents count only from the channel's origin).
 */
export type SignedGetResult =
  /** A 2xx answer with a JSON body. */
  | { readonly kind: "document"; readonly status: number; readonly document: unknown; readonly url: string }
  /**
   * Any other status. `permanent`: 401, 403, 404 or 410, the server refuses this provider the
   * document or does not have it; otherwise (5xx, 429, ...) it may answer later.
   */
  | { readonly kind: "status"; readonly status: number; readonly permanent: boolean; readonly url: string }
  /** No usable answer, for a reason that may pass: timeout, connection, redirects, size, not JSON, key. */
  | { readonly kind: "failed"; readonly reason: SignedGetFailureReason; readonly detail: string }
  /** The address policy refuses the URL or a redirect (a non-public address, not http(s)): for good. */
  | { readonly kind: "blocked"; readonly detail: string };

export type SignedGet = (url: string) => Promise<SignedGetResult>;

export interface SignedGetOptions {
  /** The `Accept` header (signed). Default `application/activity+json`. */
  readonly accept?: string;
  /** The clock of the signed `Date` header. */
  readonly now?: () => Date;
  /**
   * Which signature scheme each origin accepted (double-knocking). Default: the process's
   * (`processSchemeMemory`).
   */
  readonly schemes?: SchemeMemory;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * GETs a JSON document signed by `signingKey()` (the instance actor), so servers in "authorized fetch"
 * mode, and channels whose collections only servers of members may read, answer. It goes through
 * `http`, so its address policy and its size, time and redirect limits apply; every redirect hop is
 * signed again for its own URL. With an Ed25519 key beside the RSA key, the GET double-knocks (see
 * `doubleKnock`), and a document listing a FEP-521a Multikey makes its origin presumed to read RFC 9421. `signingKey` is asked on every GET (see `instanceKeyLoader`, which
 * loads once and tries again after a failure); a failure to load or sign is a `failed` result.
 */
export function createSignedGet(
  http: OutboundHttp,
  signingKey: () => Promise<SigningKey>,
  options: SignedGetOptions = {},
): SignedGet {
  const accept = options.accept ?? ACTIVITY_JSON_ACCEPT;
  const now = options.now ?? (() => new Date());
  const schemes = options.schemes ?? processSchemeMemory();
  return async (url) => {
    let key: SigningKey;
    try {
      key = await signingKey();
    } catch (error) {
      return { kind: "failed", reason: "signingKey", detail: `cannot sign the GET: ${messageOf(error)}` };
    }
    const send = async (scheme: SignatureScheme) => {
      let headersFor: (target: string) => Record<string, string>;
      let headers: Record<string, string>;
      try {
        headersFor = (target) =>
          signRequest({ method: "GET", url: target, headers: { accept } }, key, { now: now(), scheme });
        headers = headersFor(url);
      } catch (error) {
        return { ok: false, signing: `cannot sign the GET: ${messageOf(error)}` } as const;
      }
      return http.request(url, { method: "GET", headers, headersForRedirect: headersFor });
    };
    // RFC 9421 with the Ed25519 key first; draft-cavage again when the peer refuses it (401/400).
    const { result } = await doubleKnock({
      url,
      key,
      memory: schemes,
      send,
      statusOf: (answer) => (answer.ok ? answer.status : undefined),
    });
    if ("signing" in result) return { kind: "failed", reason: "signingKey", detail: result.signing };
    if (!result.ok) {
      const detail = `${result.reason}: ${result.detail}`;
      if (result.reason === "blockedAddress" || result.reason === "badUrl")
        return { kind: "blocked", detail };
      return { kind: "failed", reason: result.reason, detail };
    }
    if (result.status < 200 || result.status > 299) {
      return {
        kind: "status",
        status: result.status,
        permanent: PERMANENT_STATUSES.has(result.status),
        url: result.url,
      };
    }
    try {
      const document: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(result.body));
      // An origin serving FEP-521a keys is presumed to read RFC 9421 (it is tried first from now on).
      if (key.ed25519 !== undefined && publishesMultikey(document)) {
        schemes.presume(new URL(result.url).origin, "rfc9421");
      }
      return { kind: "document", status: result.status, document, url: result.url };
    } catch (error) {
      return {
        kind: "failed",
        reason: "notJson",
        detail: `invalid JSON from ${result.url}: ${messageOf(error)}`,
      };
    }
  };
}

/** One line for logs and error details about a GET that produced no document. */
export function signedGetFailureDetail(result: Exclude<SignedGetResult, { kind: "document" }>): string {
  return result.kind === "status" ? `HTTP ${result.status} from ${result.url}` : result.detail;
}

/** Where the instance actor's key comes from (@mimi/actor-keys' store is one). */
export interface InstanceKeySource {
  /** Creates the actor's key when it has none; idempotent, and agrees with a concurrent creator. */
  ensure(actorId: string): Promise<unknown>;
  signingKey(actorId: string): Promise<SigningKey | undefined>;
}

/**
 * The instance actor's signing key, loaded on first use (`ensure` first, so a GET made before the
 * identity service created the key still has one). A failed load is tried again on the next call;
 * concurrent calls share one load.
 */
export function instanceKeyLoader(keys: InstanceKeySource, instanceActor: string): () => Promise<SigningKey> {
  let loading: Promise<SigningKey> | undefined;
  const load = async () => {
    await keys.ensure(instanceActor);
    const key = await keys.signingKey(instanceActor);
    if (!key) throw new Error(`the instance actor ${instanceActor} has no signing key`);
    return key;
  };
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
