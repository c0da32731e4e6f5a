import { BoundedCache } from "@mimi/bounded-cache";
import type { SignatureScheme, SigningKey } from "./sign.js";

/**
 * Double-knocking, as Fedify does it: a request is signed with RFC 9421 (Ed25519) first; when the
 * peer refuses it as a signature problem, it is signed again with draft-cavage (RSA), which every
 * Mastodon-compatible server reads, and sent once more. What worked is remembered per origin, so
 * later requests to that origin knock once, with the scheme it accepts.
 *
 * Unlike Fedify, an origin this provider knows nothing about is signed with draft-cavage first (most
 * of the fediverse reads only that, and a refused knock costs a round trip). An origin is presumed to
 * read RFC 9421 once a document it served lists a FEP-521a Multikey (`assertionMethod`), as Fedify
 * and this provider publish them; from then on RFC 9421 goes first.
 */

/** Origins remembered at most (least recently used forgotten first). */
export const DEFAULT_SCHEME_MEMORY_ENTRIES = 10_000;
/** How long an origin's scheme is remembered: a peer that upgrades is tried with RFC 9421 again after it. */
export const DEFAULT_SCHEME_MEMORY_TTL_MS = 24 * 60 * 60 * 1000;

export interface SchemeMemory {
  /** The scheme learned or presumed for `origin`, if remembered and not expired. */
  recall(origin: string): SignatureScheme | undefined;
  /** What a knock showed the origin reads. */
  remember(origin: string, scheme: SignatureScheme): void;
  /** A guess (RFC 9421 for an origin publishing Multikeys), kept only when nothing is remembered yet. */
  presume(origin: string, scheme: SignatureScheme): void;
  /** The scheme tried first at an origin nothing is remembered about. */
  readonly unknownOrigins: SignatureScheme;
  readonly size: number;
}

export interface SchemeMemoryOptions {
  readonly maxEntries?: number;
  readonly ttlMs?: number;
  readonly now?: () => number;
  /** Default `cavage`; `rfc9421` knocks with RFC 9421 first everywhere, as Fedify does. */
  readonly unknownOrigins?: SignatureScheme;
}

export function createSchemeMemory(options: SchemeMemoryOptions = {}): SchemeMemory {
  const cache = new BoundedCache<string, SignatureScheme>({
    maxEntries: options.maxEntries ?? DEFAULT_SCHEME_MEMORY_ENTRIES,
    ttlMs: options.ttlMs ?? DEFAULT_SCHEME_MEMORY_TTL_MS,
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    recall: (origin) => cache.get(origin),
    remember: (origin, scheme) => cache.set(origin, scheme),
    presume(origin, scheme) {
      if (!cache.has(origin)) cache.set(origin, scheme);
    },
    unknownOrigins: options.unknownOrigins ?? "cavage",
    get size() {
      return cache.size;
    },
  };
}

/** How many origins a scheme memory holds and for how long (a service's settings). */
export interface SchemeMemoryBounds {
  readonly maxEntries: number;
  readonly ttlMs: number;
}

export const DEFAULT_SCHEME_MEMORY_BOUNDS: SchemeMemoryBounds = {
  maxEntries: DEFAULT_SCHEME_MEMORY_ENTRIES,
  ttlMs: DEFAULT_SCHEME_MEMORY_TTL_MS,
};

const processMemories = new Map<string, SchemeMemory>();

/**
 * The process's scheme memory with `bounds` (by default the defaults above): what one service learned
 * about an origin (from a key fetch, a delivery), the others in the same process asking for the same
 * bounds use, so a standalone provider's channel reads, key fetches and deliveries agree on a peer.
 * Services configured with other bounds get a memory of their own, held to those bounds.
 */
export function processSchemeMemory(bounds: SchemeMemoryBounds = DEFAULT_SCHEME_MEMORY_BOUNDS): SchemeMemory {
  const key = `${bounds.maxEntries}/${bounds.ttlMs}`;
  let memory = processMemories.get(key);
  if (memory === undefined) {
    memory = createSchemeMemory({ maxEntries: bounds.maxEntries, ttlMs: bounds.ttlMs });
    processMemories.set(key, memory);
  }
  return memory;
}

/**
 * The schemes to knock with, in order (pure). Without an Ed25519 key only draft-cavage is possible.
 * An origin remembered (or, when nothing is, `unknownOrigins`) as RFC 9421 gets RFC 9421 first and
 * draft-cavage as the second knock; one remembered as draft-cavage gets only that.
 */
export function knockOrder(
  key: SigningKey,
  remembered: SignatureScheme | undefined,
  unknownOrigins: SignatureScheme = "cavage",
): SignatureScheme[] {
  if (key.ed25519 === undefined || (remembered ?? unknownOrigins) === "cavage") return ["cavage"];
  return ["rfc9421", "cavage"];
}

/**
 * Whether a status says the peer did not accept the signature: 401 (Mastodon, Fedify and this
 * provider answer an unverifiable signature so) or 400 (servers that find the signature headers
 * malformed). Anything else means the signature was read: a 403 or 404 is about the request.
 */
export function refusesSignature(status: number): boolean {
  return status === 400 || status === 401;
}

/**
 * What to remember after the last knock answered with `status` (pure). RFC 9421 when it was read;
 * draft-cavage only when it was read after RFC 9421 was refused (a first-knock draft-cavage success
 * says nothing about RFC 9421). "Read": 2xx, 3xx, or a 4xx other than 400 and 401; a refusal, a 5xx
 * or no answer say nothing about the scheme.
 */
export function schemeToRemember(
  scheme: SignatureScheme,
  status: number | undefined,
  knocks = 1,
): SignatureScheme | undefined {
  if (status === undefined || status >= 500 || refusesSignature(status)) return undefined;
  if (scheme === "cavage" && knocks < 2) return undefined;
  return scheme;
}

/** Whether a JSON document lists a FEP-521a Multikey in `assertionMethod`. */
export function publishesMultikey(document: unknown): boolean {
  if (typeof document !== "object" || document === null) return false;
  const methods = (document as { assertionMethod?: unknown }).assertionMethod;
  return (Array.isArray(methods) ? methods : [methods]).some(
    (method) =>
      typeof method === "object" && method !== null && (method as { type?: unknown }).type === "Multikey",
  );
}

export interface KnockResult<R> {
  readonly result: R;
  /** The scheme of the request that produced `result`. */
  readonly scheme: SignatureScheme;
  /** 1, or 2 when the first scheme was refused and the request was signed and sent again. */
  readonly knocks: number;
}

/**
 * Sends a signed request with double-knocking. `send(scheme)` signs and sends it once with that
 * scheme; `statusOf` reads the HTTP status of its result (undefined when there was no answer).
 */
export async function doubleKnock<R>(options: {
  readonly url: string;
  readonly key: SigningKey;
  readonly memory: SchemeMemory;
  readonly send: (scheme: SignatureScheme) => Promise<R>;
  readonly statusOf: (result: R) => number | undefined;
}): Promise<KnockResult<R>> {
  const { memory } = options;
  const origin = new URL(options.url).origin;
  const order = knockOrder(options.key, memory.recall(origin), memory.unknownOrigins);
  let knocks = 0;
  for (const scheme of order) {
    knocks++;
    const result = await options.send(scheme);
    const status = options.statusOf(result);
    const worked = schemeToRemember(scheme, status, knocks);
    if (worked !== undefined) memory.remember(origin, worked);
    const last = knocks === order.length;
    if (last || status === undefined || !refusesSignature(status)) return { result, scheme, knocks };
  }
  throw new Error("knockOrder returned no scheme");
}
