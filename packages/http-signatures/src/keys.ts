import { createPublicKey, type KeyObject } from "node:crypto";
import { BoundedCache } from "@mimi/bounded-cache";
import { importEd25519Multibase } from "./multikey.js";

/** A verified-to-be-well-formed public key, the actor that owns it, and its id. */
export interface ResolvedKey {
  readonly keyId: string;
  readonly owner: string;
  readonly publicKey: KeyObject;
}

export type KeyResolution =
  | {
      readonly ok: true;
      readonly key: ResolvedKey;
      /** False when the key was fetched for this call; a verifier then does not refetch it. */
      readonly fromCache?: boolean;
    }
  | { readonly ok: false; readonly reason: "keyFetchError"; readonly detail: string };

export interface KeyResolver {
  /** `refresh: true` asks for the key document to be fetched again (key rotation). */
  resolve(keyId: string, options: { refresh: boolean }): Promise<KeyResolution>;
}

/**
 * What fetching a key document produced: the parsed JSON and the URL that really answered (after
 * redirects), or why there is none. The URL binds the document to an origin, so a fetcher must
 * report where the document came from, not where it was asked for.
 */
export type KeyDocumentFetchResult =
  | { readonly ok: true; readonly document: unknown; readonly url: string }
  | { readonly ok: false; readonly detail: string };

export type KeyDocumentFetcher = (url: string) => Promise<KeyDocumentFetchResult>;

export type KeyDocumentParse = { ok: true; key: ResolvedKey } | { ok: false; detail: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isRecord(value) && typeof value.id === "string") return value.id;
  return undefined;
}

function parseHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
}

/** The key id without its fragment: the URL to fetch. */
export function keyDocumentUrl(keyId: string): string | undefined {
  const url = parseHttpUrl(keyId);
  if (url === undefined) return undefined;
  url.hash = "";
  return url.href;
}

/** Whether `id` names the resource at `fetchedUrl` (both normalised as WHATWG URLs). */
function namesUrl(id: string, fetchedUrl: URL, { ignoreFragment }: { ignoreFragment: boolean }): boolean {
  const parsed = parseHttpUrl(id);
  if (parsed === undefined) return false;
  if (ignoreFragment) parsed.hash = "";
  return parsed.href === fetchedUrl.href;
}

function importPem(pem: unknown): KeyObject | string {
  if (typeof pem !== "string") return "publicKeyPem is missing";
  try {
    const key = createPublicKey(pem);
    const type = key.asymmetricKeyType;
    if (type !== "rsa" && type !== "rsa-pss" && type !== "ed25519") return `unsupported key type ${type}`;
    return key;
  } catch (error) {
    return `publicKeyPem does not parse: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function listEntries(value: unknown): Record<string, unknown>[] {
  return (Array.isArray(value) ? value : [value]).filter(isRecord);
}

/** A key entry's public key: `publicKeyPem` (SPKI) or, for a Multikey, an Ed25519 `publicKeyMultibase`. */
function importKeyEntry(entry: Record<string, unknown>): KeyObject | string {
  if (entry.publicKeyPem !== undefined) return importPem(entry.publicKeyPem);
  if (entry.type !== "Multikey") return "publicKeyPem is missing";
  return importEd25519Multibase(entry.publicKeyMultibase);
}

/**
 * Extracts the key `keyId` from the document fetched from `fetchedUrl` (the URL that answered,
 * after redirects): either an actor whose `publicKey` or FEP-521a `assertionMethod` (object or array)
 * contains it, or a bare key document `{ id, owner, publicKeyPem }` or `{ id, type: "Multikey",
 * controller, publicKeyMultibase }`.
 *
 * A document only speaks for its own origin, and only for itself:
 * - `fetchedUrl` is on the key id's origin (a redirect elsewhere vouches for nothing);
 * - the document's `id` is `fetchedUrl` (a bare key document's id is the key id, compared
 *   without its fragment);
 * - the key's owner is an actor on that origin: for an actor document, the document itself; for a
 *   bare key document, an actor on the key id's origin.
 */
export function parseKeyDocument(document: unknown, keyId: string, fetchedUrl: string): KeyDocumentParse {
  const keyUrl = parseHttpUrl(keyId);
  if (keyUrl === undefined) return { ok: false, detail: `keyId ${keyId} is not an http(s) URL` };
  const fetched = parseHttpUrl(fetchedUrl);
  if (fetched === undefined)
    return { ok: false, detail: `key document URL ${fetchedUrl} is not an http(s) URL` };
  fetched.hash = ""; // never sent to the server
  if (fetched.origin !== keyUrl.origin) {
    return {
      ok: false,
      detail: `key document for ${keyId} came from ${fetched.href}, another origin than the key's`,
    };
  }
  if (!isRecord(document))
    return { ok: false, detail: `key document at ${fetched.href} is not a JSON object` };
  const documentId = idOf(document);
  if (documentId === undefined) return { ok: false, detail: `key document at ${fetched.href} has no id` };
  const bareKey = document.publicKeyPem !== undefined || document.publicKeyMultibase !== undefined;
  if (bareKey) {
    if (documentId !== keyId) return { ok: false, detail: `key document id ${documentId} is not ${keyId}` };
    if (!namesUrl(documentId, fetched, { ignoreFragment: true })) {
      return {
        ok: false,
        detail: `key document id ${documentId} is not the URL it came from, ${fetched.href}`,
      };
    }
    // A Multikey names its actor `controller`; a CryptographicKey names it `owner`.
    const owner = idOf(document.publicKeyPem !== undefined ? document.owner : document.controller);
    if (owner === undefined) return { ok: false, detail: "key document has no owner or controller" };
    if (parseHttpUrl(owner)?.origin !== keyUrl.origin) {
      return { ok: false, detail: `key owner ${owner} is on another origin than ${keyId}` };
    }
    const publicKey = importKeyEntry(document);
    if (typeof publicKey === "string") return { ok: false, detail: publicKey };
    return { ok: true, key: { keyId, owner, publicKey } };
  }
  if (!namesUrl(documentId, fetched, { ignoreFragment: false })) {
    return { ok: false, detail: `document id ${documentId} is not the URL it came from, ${fetched.href}` };
  }
  // `publicKey` (CryptographicKey, owner) and FEP-521a `assertionMethod` (Multikey, controller).
  const entry =
    listEntries(document.publicKey).find((candidate) => candidate.id === keyId) ??
    listEntries(document.assertionMethod).find((candidate) => candidate.id === keyId);
  if (entry === undefined) return { ok: false, detail: `document ${documentId} lists no key ${keyId}` };
  const owner = idOf(entry.publicKeyPem !== undefined ? entry.owner : entry.controller) ?? documentId;
  if (owner !== documentId) {
    return { ok: false, detail: `key ${keyId} is owned by ${owner}, not by the document ${documentId}` };
  }
  const publicKey = importKeyEntry(entry);
  if (typeof publicKey === "string") return { ok: false, detail: publicKey };
  return { ok: true, key: { keyId, owner, publicKey } };
}

export interface CachingKeyResolverOptions {
  readonly fetchKeyDocument: KeyDocumentFetcher;
  readonly maxEntries?: number;
  readonly ttlMs?: number;
  /**
   * A refresh within this time of the last fetch is answered from the cache, so a flood of
   * badly signed requests cannot turn into a flood of key fetches.
   */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
  /**
   * Refuse key ids that are not https URLs before any cache lookup or fetch (production: a key
   * fetched over plain http proves nothing about its origin). Default false, for development
   * providers that talk plain http to each other.
   */
  readonly requireHttpsKeyIds?: boolean;
}

export interface CachingKeyResolver extends KeyResolver {
  /** Number of cached keys (bounded by maxEntries). */
  readonly size: number;
  /**
   * Drops every cached key of `owner` (its account was deleted): a later request signed with one of
   * them fetches the key again, and a deleted actor's document serves no key. How many were dropped.
   */
  forgetOwner(owner: string): number;
}

interface CacheEntry {
  readonly key: ResolvedKey;
  readonly fetchedAt: number;
}

export const DEFAULT_KEY_CACHE_ENTRIES = 10_000;
export const DEFAULT_KEY_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 30_000;

/**
 * Resolves key ids to parsed public keys through a bounded LRU cache with a TTL; concurrent
 * lookups of one key share a single fetch.
 */
export function createCachingKeyResolver(options: CachingKeyResolverOptions): CachingKeyResolver {
  const maxEntries = options.maxEntries ?? DEFAULT_KEY_CACHE_ENTRIES;
  const ttlMs = options.ttlMs ?? DEFAULT_KEY_TTL_MS;
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const cache = new BoundedCache<string, CacheEntry>({ maxEntries, ttlMs, now });
  const inFlight = new Map<string, Promise<KeyResolution>>();

  async function fetchKey(keyId: string): Promise<KeyResolution> {
    const url = keyDocumentUrl(keyId);
    if (url === undefined)
      return { ok: false, reason: "keyFetchError", detail: `keyId ${keyId} is not an http(s) URL` };
    let fetched: KeyDocumentFetchResult;
    try {
      fetched = await options.fetchKeyDocument(url);
    } catch (error) {
      fetched = { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    if (!fetched.ok) return { ok: false, reason: "keyFetchError", detail: fetched.detail };
    const parsed = parseKeyDocument(fetched.document, keyId, fetched.url);
    if (!parsed.ok) return { ok: false, reason: "keyFetchError", detail: parsed.detail };
    cache.set(keyId, { key: parsed.key, fetchedAt: now() });
    return { ok: true, key: parsed.key, fromCache: false };
  }

  return {
    get size() {
      return cache.size;
    },
    forgetOwner(owner) {
      return cache.deleteWhere((entry) => entry.key.owner === owner);
    },
    async resolve(keyId, { refresh }) {
      if (options.requireHttpsKeyIds && parseHttpUrl(keyId)?.protocol !== "https:") {
        return {
          ok: false,
          reason: "keyFetchError",
          detail: `keyId ${keyId} is not an https URL; this provider accepts only https key ids`,
        };
      }
      // Within its time-to-live; a refresh is honoured once the last fetch is old enough.
      const entry = cache.get(keyId);
      if (entry !== undefined && (!refresh || now() - entry.fetchedAt < minRefreshIntervalMs)) {
        return { ok: true, key: entry.key, fromCache: true };
      }
      const pending = inFlight.get(keyId);
      if (pending) return pending;
      const fetching = fetchKey(keyId).finally(() => inFlight.delete(keyId));
      inFlight.set(keyId, fetching);
      return fetching;
    },
  };
}
