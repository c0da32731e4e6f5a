import { createHash, randomBytes } from "node:crypto";

/**
 * The plaintext inside every MLS application message: a JSON profile of the MIMI content format
 * (draft-ietf-mimi-content). Field names follow the draft where it has them (`salt`, `replaces`,
 * `inReplyTo`, `senderUri`, `roomUri`, `disposition`, `language`, `contentType`, `content` of a
 * single part); `timestamp` is the sender's clock. The draft encodes in CBOR; this profile is JSON,
 * marked by `mimiContent: 1`.
 */
export interface MimiContent {
  mimiContent: 1;
  /** Message id: base64url SHA-256 over the sender, the room, the salt and the content (see `messageIdOf`). */
  id: string;
  /** 16 random bytes, base64url: makes equal messages have different ids. */
  salt: string;
  senderUri: string;
  roomUri: string;
  /** Milliseconds since the epoch, from the sender's clock. */
  timestamp: number;
  /** Id of the message this one answers. */
  inReplyTo?: string;
  /** Id of the message this one edits or deletes. */
  replaces?: string;
  disposition: "render";
  language: string;
  contentType: string;
  content: string;
}

export const TEXT_PLAIN = "text/plain;charset=utf-8";
const MAX_CONTENT_CHARS = 64 * 1024;

export interface NewContent {
  senderUri: string;
  roomUri: string;
  text: string;
  inReplyTo?: string;
  timestamp?: number;
  salt?: Uint8Array;
}

/** The draft derives the id by hashing; here over a fixed, unambiguous JSON array of the bound fields. */
export function messageIdOf(fields: {
  senderUri: string;
  roomUri: string;
  salt: string;
  timestamp: number;
  contentType: string;
  content: string;
}): string {
  const bound = [
    fields.senderUri,
    fields.roomUri,
    fields.salt,
    fields.timestamp,
    fields.contentType,
    fields.content,
  ];
  return createHash("sha256").update(JSON.stringify(bound)).digest("base64url");
}

export function createTextContent(input: NewContent): MimiContent {
  const salt = Buffer.from(input.salt ?? randomBytes(16)).toString("base64url");
  const timestamp = input.timestamp ?? Date.now();
  const base = {
    senderUri: input.senderUri,
    roomUri: input.roomUri,
    salt,
    timestamp,
    contentType: TEXT_PLAIN,
    content: input.text,
  };
  return {
    mimiContent: 1,
    id: messageIdOf(base),
    salt,
    senderUri: base.senderUri,
    roomUri: base.roomUri,
    timestamp,
    ...(input.inReplyTo ? { inReplyTo: input.inReplyTo } : {}),
    disposition: "render",
    language: "",
    contentType: TEXT_PLAIN,
    content: input.text,
  };
}

export function encodeContent(content: MimiContent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(content));
}

export type ContentParseResult = { ok: true; content: MimiContent } | { ok: false; detail: string };

const optionalString = (value: unknown) => value === undefined || typeof value === "string";

/** Parses and checks decrypted bytes: the shape, the size and that the id matches the bound fields. */
export function parseContent(bytes: Uint8Array): ContentParseResult {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, detail: "the plaintext is not UTF-8 JSON" };
  }
  if (typeof value !== "object" || value === null) return { ok: false, detail: "not a JSON object" };
  const c = value as Record<string, unknown>;
  if (c.mimiContent !== 1) return { ok: false, detail: "unknown content profile (mimiContent must be 1)" };
  for (const field of ["id", "salt", "senderUri", "roomUri", "contentType", "content"] as const) {
    if (typeof c[field] !== "string") return { ok: false, detail: `${field} must be a string` };
  }
  if (typeof c.timestamp !== "number" || !Number.isSafeInteger(c.timestamp) || c.timestamp < 0)
    return { ok: false, detail: "timestamp must be a non-negative integer" };
  if (!optionalString(c.inReplyTo) || !optionalString(c.replaces) || !optionalString(c.language))
    return { ok: false, detail: "inReplyTo, replaces and language must be strings" };
  if ((c.content as string).length > MAX_CONTENT_CHARS) return { ok: false, detail: "content too large" };
  const content: MimiContent = {
    mimiContent: 1,
    id: c.id as string,
    salt: c.salt as string,
    senderUri: c.senderUri as string,
    roomUri: c.roomUri as string,
    timestamp: c.timestamp,
    ...(typeof c.inReplyTo === "string" ? { inReplyTo: c.inReplyTo } : {}),
    ...(typeof c.replaces === "string" ? { replaces: c.replaces } : {}),
    disposition: "render",
    language: typeof c.language === "string" ? c.language : "",
    contentType: c.contentType as string,
    content: c.content as string,
  };
  if (messageIdOf(content) !== content.id)
    return { ok: false, detail: "the message id does not match its content" };
  return { ok: true, content };
}
