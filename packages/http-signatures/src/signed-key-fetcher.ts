import type { OutboundHttp } from "@mimi/outbound-http";
import type { KeyDocumentFetcher } from "./keys.js";
import { type SigningKey, signRequest } from "./sign.js";

const ACTIVITY_JSON_ACCEPT = "application/activity+json";

/**
 * A key-document fetcher for servers in "authorized fetch" mode: every GET (and every redirect
 * hop) is signed by the instance actor's key. Size, time and address limits are those of `http`.
 * Redirects are followed; the result names the URL that answered, which `parseKeyDocument` binds
 * the document to.
 */
export function createSignedKeyFetcher(
  http: OutboundHttp,
  instanceKey: SigningKey,
  options: { now?: () => Date } = {},
): KeyDocumentFetcher {
  const now = options.now ?? (() => new Date());
  const headersFor = (url: string) =>
    signRequest({ method: "GET", url, headers: { accept: ACTIVITY_JSON_ACCEPT } }, instanceKey, {
      now: now(),
    });
  return async (url) => {
    let headers: Record<string, string>;
    try {
      headers = headersFor(url);
    } catch (error) {
      return {
        ok: false,
        detail: `cannot sign the key fetch: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    const result = await http.request(url, {
      method: "GET",
      headers,
      headersForRedirect: (hopUrl) => headersFor(hopUrl),
    });
    if (!result.ok) return { ok: false, detail: `${result.reason}: ${result.detail}` };
    if (result.status < 200 || result.status > 299)
      return { ok: false, detail: `HTTP ${result.status} from ${result.url}` };
    try {
      return {
        ok: true,
        document: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(result.body)),
        url: result.url,
      };
    } catch (error) {
      return {
        ok: false,
        detail: `invalid JSON from ${result.url}: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  };
}
