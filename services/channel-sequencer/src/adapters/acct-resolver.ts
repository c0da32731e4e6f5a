import { type ProviderUrls, parseAcct } from "@mimi/activitypub";
import type { OutboundHttp } from "@mimi/outbound-http";
import { BoundedCache } from "@mimi/service-kit";

/**
 * Maps an `acct:` URI to its actor URL; undefined when the account does not exist (or names no
 * ActivityPub actor). Throws when the answer cannot be had right now (network), so the caller retries.
 */
export type AcctResolver = (acct: string) => Promise<string | undefined>;

const ACTIVITY_JSON = "application/activity+json";

/**
 * Local accounts map to `urls.actor(user)`; remote ones are looked up by WebFinger (the `self` link
 * of type application/activity+json). Answers are cached: found actors for `ttlMs`, absent ones for
 * `missTtlMs`; failures are not cached.
 */
export function createAcctResolver(options: {
  urls: ProviderUrls;
  http: OutboundHttp;
  connectTo: ReadonlyMap<string, string>;
  ttlMs?: number;
  missTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}): AcctResolver {
  const ttlMs = options.ttlMs ?? 60 * 60_000;
  const missTtlMs = options.missTtlMs ?? 60_000;
  // Wrapped: an account known not to exist is an entry too. Hits leave the order alone.
  const cache = new BoundedCache<string, { actor: string | undefined }>({
    maxEntries: options.maxEntries ?? 10_000,
    ttlMs,
    now: options.now,
  });

  async function webfinger(acct: string, host: string): Promise<string | undefined> {
    const hostname = host.replace(/:\d+$/, "");
    const scheme = options.connectTo.has(hostname) || options.connectTo.has(host) ? "http" : "https";
    const url = `${scheme}://${host}/.well-known/webfinger?resource=${encodeURIComponent(acct)}`;
    const result = await options.http.fetchJson(url, { accept: "application/jrd+json, application/json" });
    if (!result.ok) {
      if (result.reason === "httpStatus" && (result.status === 404 || result.status === 410))
        return undefined;
      throw new Error(`WebFinger lookup of ${acct} failed: ${result.detail}`);
    }
    return selfLink(result.value);
  }

  return async (acct) => {
    const parsed = parseAcct(acct);
    if (!parsed.ok) return undefined;
    const { user, host } = parsed.acct;
    if (host === options.urls.domain) return options.urls.actor(user);
    const key = `acct:${user}@${host}`;
    const cached = cache.peek(key);
    if (cached) return cached.actor;
    const actor = await webfinger(key, host);
    cache.set(key, { actor }, { ttlMs: actor === undefined ? missTtlMs : ttlMs });
    return actor;
  };
}

/** The JRD's `self` link to an ActivityPub actor, if it has one. */
export function selfLink(jrd: unknown): string | undefined {
  if (typeof jrd !== "object" || jrd === null || !("links" in jrd) || !Array.isArray(jrd.links))
    return undefined;
  for (const link of jrd.links as unknown[]) {
    if (typeof link !== "object" || link === null) continue;
    const { rel, type, href } = link as Record<string, unknown>;
    const isActivityType =
      typeof type === "string" && (type === ACTIVITY_JSON || type.startsWith("application/ld+json"));
    if (rel === "self" && isActivityType && typeof href === "string") {
      try {
        const url = new URL(href);
        if (url.protocol === "https:" || url.protocol === "http:") return href;
      } catch {
        // not a URL: keep looking
      }
    }
  }
  return undefined;
}

/** A resolver over a fixed table (tests, and deployments that pin a few remote accounts). */
export function staticAcctResolver(table: Readonly<Record<string, string>>): AcctResolver {
  return async (acct) => table[acct];
}
