import { createHash } from "node:crypto";

/**
 * The JSON profile this client sent before it spoke MIMI content (CBOR): a UTF-8 JSON object
 * marked `mimiContent: 1`. It is still read, so messages from older peers keep working, and never
 * sent. Pure.
 */
export interface LegacyContent {
  mimiContent: 1;
  /** The message id as a hex string (the profile's base64url id, see `normalizeMessageId`). */
  id: string;
  senderUri: string;
  roomUri: string;
  /** Milliseconds since the epoch, from the sender's clock. */
  timestamp: number;
  inReplyTo?: string;
  replaces?: string;
  contentType: string;
  content: string;
}

const MAX_LEGACY_CONTENT_CHARS = 64 * 1024;

/**
 * The profile's ids were base64url SHA-256 (43 characters); they are carried as the hex of the
 * same 32 bytes, like MIMI content's ids, so one form refers to either. Other strings are kept.
 */
export function normalizeMessageId(id: string): string {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return id;
  return Buffer.from(id, "base64url").toString("hex");
}

/** The profile's id: base64url SHA-256 of a fixed JSON array of the fields it binds. */
function legacyIdOf(c: Record<string, unknown>): string {
  const bound = [c.senderUri, c.roomUri, c.salt, c.timestamp, c.contentType, c.content];
  return createHash("sha256").update(JSON.stringify(bound)).digest("base64url");
}

/** Whether a decoded JSON value claims to be this profile (then it must pass `parseLegacyContent`). */
export const claimsLegacyProfile = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && "mimiContent" in value;

const optionalString = (value: unknown) => value === undefined || typeof value === "string";

/** Checks the shape, the size and that `id` matches the fields it binds, as the profile defined. */
export function parseLegacyContent(
  c: Record<string, unknown>,
): { ok: true; content: LegacyContent } | { ok: false; detail: string } {
  if (c.mimiContent !== 1) return { ok: false, detail: "unknown content profile (mimiContent must be 1)" };
  for (const field of ["id", "salt", "senderUri", "roomUri", "contentType", "content"] as const) {
    if (typeof c[field] !== "string") return { ok: false, detail: `${field} must be a string` };
  }
  if (typeof c.timestamp !== "number" || !Number.isSafeInteger(c.timestamp) || c.timestamp < 0)
    return { ok: false, detail: "timestamp must be a non-negative integer" };
  if (!optionalString(c.inReplyTo) || !optionalString(c.replaces) || !optionalString(c.language))
    return { ok: false, detail: "inReplyTo, replaces and language must be strings" };
  if ((c.content as string).length > MAX_LEGACY_CONTENT_CHARS)
    return { ok: false, detail: "content too large" };
  if (legacyIdOf(c) !== c.id) return { ok: false, detail: "the message id does not match its content" };
  return {
    ok: true,
    content: {
      mimiContent: 1,
      id: normalizeMessageId(c.id as string),
      senderUri: c.senderUri as string,
      roomUri: c.roomUri as string,
      timestamp: c.timestamp,
      ...(typeof c.inReplyTo === "string" ? { inReplyTo: normalizeMessageId(c.inReplyTo) } : {}),
      ...(typeof c.replaces === "string" ? { replaces: normalizeMessageId(c.replaces) } : {}),
      contentType: c.contentType as string,
      content: c.content as string,
    },
  };
}
