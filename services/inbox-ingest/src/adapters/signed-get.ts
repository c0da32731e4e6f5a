import { ACTIVITY_JSON } from "@mimi/activitypub";
import { type SigningKey, signRequest } from "@mimi/http-signatures";
import type { OutboundHttp } from "@mimi/outbound-http";

/** The answer to a signed GET of an ActivityStreams document. */
export type SignedGetResult =
  | { readonly kind: "document"; readonly document: unknown; readonly url: string }
  /** The server answered, but not with the document (refused, unknown, or an error status). */
  | { readonly kind: "status"; readonly status: number }
  /** No usable answer: unreachable, blocked address, timeout, too large, not JSON. */
  | { readonly kind: "failed"; readonly detail: string; readonly blocked: boolean };

export type SignedGet = (url: string) => Promise<SignedGetResult>;

/**
 * GETs signed by `signingKey()` (the instance actor), through the provider's outbound HTTP client and
 * its address policy, so servers in "authorized fetch" mode and channels (whose followers collection
 * is only readable by servers hosting a member) answer. Redirect hops are signed again.
 */
export function createSignedGet(
  http: OutboundHttp,
  signingKey: () => Promise<SigningKey>,
  now: () => Date = () => new Date(),
): SignedGet {
  return async (url) => {
    const key = await signingKey();
    const headersFor = (target: string) =>
      signRequest({ method: "GET", url: target, headers: { accept: ACTIVITY_JSON } }, key, { now: now() });
    const result = await http.request(url, {
      method: "GET",
      headers: headersFor(url),
      headersForRedirect: (hop) => headersFor(hop),
    });
    if (!result.ok) {
      return {
        kind: "failed",
        detail: `${result.reason}: ${result.detail}`,
        blocked: result.reason === "blockedAddress" || result.reason === "badUrl",
      };
    }
    if (result.status < 200 || result.status > 299) return { kind: "status", status: result.status };
    try {
      const document: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(result.body));
      return { kind: "document", document, url: result.url };
    } catch {
      return { kind: "failed", detail: `the answer from ${result.url} is not JSON`, blocked: false };
    }
  };
}
