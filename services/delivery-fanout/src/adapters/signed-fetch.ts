import type { SigningKey } from "@mimi/http-signatures";
import { signRequest } from "@mimi/http-signatures";
import type { OutboundHttp } from "@mimi/outbound-http";

export type SignedFetchResult =
  | { ok: true; document: unknown; url: string }
  /** `permanent`: the document is gone or refused for good (404, 410, other 4xx, not JSON). */
  | { ok: false; permanent: boolean; detail: string };

export type SignedJsonFetcher = (url: string) => Promise<SignedFetchResult>;

const ACCEPT =
  'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"';

/**
 * GETs ActivityPub documents signed as the instance actor (servers in "authorized fetch" mode refuse
 * unsigned fetches), re-signing every redirect hop.
 */
export function createSignedJsonFetcher(
  http: OutboundHttp,
  instanceKey: () => Promise<SigningKey | undefined>,
): SignedJsonFetcher {
  return async (url) => {
    const key = await instanceKey();
    if (!key) return { ok: false, permanent: false, detail: "the instance actor has no signing key yet" };
    const headersFor = (target: string) =>
      signRequest({ method: "GET", url: target, headers: { accept: ACCEPT } }, key);
    const result = await http.request(url, {
      method: "GET",
      headers: headersFor(url),
      headersForRedirect: headersFor,
    });
    if (!result.ok) {
      const permanent =
        result.reason === "badUrl" || result.reason === "blockedAddress" || result.reason === "tooLarge";
      return { ok: false, permanent, detail: `${result.reason}: ${result.detail}` };
    }
    if (result.status < 200 || result.status > 299) {
      const permanent =
        result.status >= 400 && result.status <= 499 && ![401, 408, 429].includes(result.status);
      return { ok: false, permanent, detail: `HTTP ${result.status} from ${result.url}` };
    }
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(result.body);
      return { ok: true, document: JSON.parse(text) as unknown, url: result.url };
    } catch (error) {
      return {
        ok: false,
        permanent: true,
        detail: `invalid JSON from ${result.url}: ${(error as Error).message}`,
      };
    }
  };
}
