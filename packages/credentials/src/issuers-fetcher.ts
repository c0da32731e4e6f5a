import { type MimiConfiguration, mimiConfigurationUrl, parseMimiConfiguration } from "./configuration.js";
import { isValidDomain } from "./identifiers.js";
import type { IssuersResult } from "./verify.js";

export interface IssuersFetcherOptions {
  /** GETs a URL and returns the parsed JSON body; throws on any transport or HTTP failure. */
  fetchJson: (url: string) => Promise<unknown>;
  /** How long a fetched configuration is used. Default 5 minutes. */
  ttlMs?: number;
  /** How long a failed fetch is remembered, so a dead domain is not fetched on every credential. Default 30 s. */
  failureTtlMs?: number;
  /** Least time between two fetches of one domain, whatever `refresh` asks. Default 30 s. */
  minRefreshIntervalMs?: number;
  /** At most this many domains are cached; the oldest entry goes first. Default 1000. */
  maxDomains?: number;
  /** `http` only for development setups. */
  scheme?: "https" | "http";
  clock?: () => number;
}

export type ConfigurationLookup =
  | { ok: true; configuration: MimiConfiguration }
  | { ok: false; detail: string };

export interface IssuersFetcher {
  /** The domain's `credential_issuers`; pass as `issuersFor` to the verifier. */
  issuersFor(domain: string, options?: { refresh?: boolean }): Promise<IssuersResult>;
  /** The whole validated `/.well-known/mimi-configuration` of a domain (cached like `issuersFor`). */
  configurationFor(domain: string, options?: { refresh?: boolean }): Promise<ConfigurationLookup>;
  /** Drops the cached entry of a domain. */
  forget(domain: string): void;
}

interface CacheEntry {
  fetchedAt: number;
  expiresAt: number;
  lookup: Promise<ConfigurationLookup>;
}

export function createIssuersFetcher(options: IssuersFetcherOptions): IssuersFetcher {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const failureTtlMs = options.failureTtlMs ?? 30_000;
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? 30_000;
  const maxDomains = options.maxDomains ?? 1000;
  const scheme = options.scheme ?? "https";
  const clock = options.clock ?? Date.now;
  const cache = new Map<string, CacheEntry>();

  async function fetchConfiguration(domain: string): Promise<ConfigurationLookup> {
    let json: unknown;
    try {
      json = await options.fetchJson(mimiConfigurationUrl(domain, scheme));
    } catch (error) {
      return { ok: false, detail: `fetching configuration failed: ${errorMessage(error)}` };
    }
    const parsed = parseMimiConfiguration(json);
    if (!parsed.ok) return parsed;
    if (parsed.configuration.domain !== domain) {
      return {
        ok: false,
        detail: `configuration served by ${domain} names domain ${parsed.configuration.domain}`,
      };
    }
    return parsed;
  }

  function startFetch(domain: string, now: number): CacheEntry {
    const entry: CacheEntry = {
      fetchedAt: now,
      // Until it settles, concurrent lookups share the one in-flight fetch.
      expiresAt: Number.POSITIVE_INFINITY,
      lookup: fetchConfiguration(domain),
    };
    entry.lookup.then((lookup) => {
      entry.expiresAt = clock() + (lookup.ok ? ttlMs : failureTtlMs);
    });
    cache.delete(domain);
    cache.set(domain, entry);
    while (cache.size > maxDomains) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
    return entry;
  }

  async function configurationFor(
    domain: string,
    lookupOptions?: { refresh?: boolean },
  ): Promise<ConfigurationLookup> {
    const normalized = domain.toLowerCase();
    if (!isValidDomain(normalized)) return { ok: false, detail: `invalid domain ${JSON.stringify(domain)}` };
    const now = clock();
    const cached = cache.get(normalized);
    const mayRefresh =
      lookupOptions?.refresh === true && (!cached || now - cached.fetchedAt >= minRefreshIntervalMs);
    const entry = cached && cached.expiresAt > now && !mayRefresh ? cached : startFetch(normalized, now);
    return entry.lookup;
  }

  return {
    configurationFor,
    async issuersFor(domain, lookupOptions) {
      const lookup = await configurationFor(domain, lookupOptions);
      return lookup.ok ? { ok: true, issuersPem: lookup.configuration.credential_issuers } : lookup;
    },
    forget(domain) {
      cache.delete(domain.toLowerCase());
    },
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
