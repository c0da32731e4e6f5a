import type { CiphersuiteName } from "@mimi/mls";

/**
 * MLS ciphersuites by IANA registry name and number (RFC 9420, section 17.1). Requests may name a
 * suite either way; storage and claim pools use the number.
 */
const REGISTRY: ReadonlyArray<readonly [number, CiphersuiteName]> = [
  [1, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"],
  [2, "MLS_128_DHKEMP256_AES128GCM_SHA256_P256"],
  [3, "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519"],
  [4, "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448"],
  [5, "MLS_256_DHKEMP521_AES256GCM_SHA512_P521"],
  [6, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448"],
  [7, "MLS_256_DHKEMP384_AES256GCM_SHA384_P384"],
];

const ID_BY_NAME = new Map<string, number>(REGISTRY.map(([id, name]) => [name, id]));
const NAME_BY_ID = new Map(REGISTRY.map(([id, name]) => [id, name]));

export const DEFAULT_CIPHERSUITE_ID = 1;

/** Largest ciphersuite number (the field is a uint16). */
const MAX_CIPHERSUITE = 0xffff;

/** The number of a suite given by name or number; undefined for names outside the registry. */
export function ciphersuiteId(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 1 && value <= MAX_CIPHERSUITE ? value : undefined;
  }
  return ID_BY_NAME.get(value);
}

/** The registry name of a registered suite (as @mimi/mls names it). */
export function registeredCiphersuiteName(id: number): CiphersuiteName | undefined {
  return NAME_BY_ID.get(id);
}

/** The registry name of a suite, or its number in hex for suites this table does not name. */
export function ciphersuiteName(id: number): string {
  return NAME_BY_ID.get(id) ?? `0x${id.toString(16).padStart(4, "0")}`;
}

/**
 * Parses the configured list (names or numbers, comma-separated) into suite numbers, in order,
 * without duplicates. Returns a reason for the first entry that is not a registered suite.
 */
export function parseCiphersuiteList(
  entries: readonly string[],
): { ok: true; ids: number[] } | { ok: false; reason: string } {
  const ids: number[] = [];
  for (const entry of entries) {
    const id = /^\d+$/.test(entry) ? Number(entry) : ciphersuiteId(entry);
    if (id === undefined || !NAME_BY_ID.has(id)) {
      return { ok: false, reason: `"${entry}" is not an MLS ciphersuite name or number from RFC 9420` };
    }
    if (!ids.includes(id)) ids.push(id);
  }
  if (ids.length === 0) return { ok: false, reason: "at least one ciphersuite is required" };
  return { ok: true, ids };
}

/**
 * The suites a claim may serve, in the requester's order of preference: those it asked for that this
 * directory also accepts. Names outside the registry and repeated entries are skipped, so a request
 * listing only unknown suites gets an answer with no KeyPackage rather than an error.
 */
export function claimableCiphersuites(
  requested: ReadonlyArray<string | number>,
  supported: readonly number[],
): number[] {
  const ids: number[] = [];
  for (const value of requested) {
    const id = ciphersuiteId(value);
    if (id !== undefined && supported.includes(id) && !ids.includes(id)) ids.push(id);
  }
  return ids;
}
