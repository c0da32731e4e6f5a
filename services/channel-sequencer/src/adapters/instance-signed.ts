import type { ActorKeyStore } from "@mimi/actor-keys";
import { type KeyDocumentFetcher, type SigningKey, signRequest } from "@mimi/http-signatures";
import type { OutboundHttp } from "@mimi/outbound-http";

const ACTIVITY_JSON = "application/activity+json";

/**
 * A GET signed as the instance actor: the JSON answer, its status and the URL that answered (after
 * redirects), or why there is none.
 */
export type SignedGetResult =
  | { readonly ok: true; readonly status: number; readonly json: unknown; readonly url: string }
  | { readonly ok: false; readonly detail: string };

export type SignedGet = (url: string) => Promise<SignedGetResult>;

/**
 * The instance actor's signing key, loaded on first use (identity creates it at start; `ensure` is
 * idempotent and agrees with a concurrent creator). A failed load is tried again next time.
 */
export function instanceKeyLoader(
  actorKeys: ActorKeyStore,
  instanceActor: string,
): () => Promise<SigningKey> {
  let loading: Promise<SigningKey> | undefined;
  const load = async () => {
    await actorKeys.ensure(instanceActor);
    const key = await actorKeys.signingKey(instanceActor);
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

/** GETs with `Accept: application/activity+json`, signed (every redirect hop too) as the instance actor. */
export function createSignedGet(http: OutboundHttp, key: () => Promise<SigningKey>): SignedGet {
  return async (url) => {
    let signingKey: SigningKey;
    try {
      signingKey = await key();
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    const headersFor = (target: string) =>
      signRequest({ method: "GET", url: target, headers: { accept: ACTIVITY_JSON } }, signingKey);
    const result = await http.request(url, {
      method: "GET",
      headers: headersFor(url),
      headersForRedirect: headersFor,
    });
    if (!result.ok) return { ok: false, detail: `${result.reason}: ${result.detail}` };
    if (result.status < 200 || result.status > 299)
      return { ok: true, status: result.status, json: undefined, url: result.url };
    try {
      return {
        ok: true,
        status: result.status,
        json: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(result.body)),
        url: result.url,
      };
    } catch {
      return { ok: false, detail: `invalid JSON from ${result.url}` };
    }
  };
}

/**
 * Key documents for signature verification, fetched through the signed GET. That GET follows
 * redirects (outbound-http, every hop re-signed), so the document is only worth the URL that
 * answered, which it reports; the key resolver checks that URL against the key's origin.
 */
export function keyDocumentFetcher(get: SignedGet): KeyDocumentFetcher {
  return async (url) => {
    const result = await get(url);
    if (!result.ok) return result;
    if (result.status < 200 || result.status > 299)
      return { ok: false, detail: `HTTP ${result.status} from ${result.url}` };
    return { ok: true, document: result.json, url: result.url };
  };
}
