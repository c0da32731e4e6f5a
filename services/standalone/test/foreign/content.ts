import { createHash } from "node:crypto";
import { decode } from "./libraries.js";

/**
 * The foreign client's reading of a decrypted plaintext, from docs/protocol.md section 7 alone: MIMI
 * content (a CBOR array of 7), plain UTF-8 text, and anything else kept as unsupported content. The
 * older JSON profile is left out: the provider under test no longer sends it.
 */

export const MAX_PLAINTEXT_BYTES = 64 * 1024;
const TEXT_TYPES = new Set(["text/plain", "text/markdown"]);

export type Body =
  | { cardinality: "null"; disposition: number }
  | { cardinality: "single"; disposition: number; contentType: string; content: Uint8Array }
  | { cardinality: "external" | "multi"; disposition: number };

export interface MimiContent {
  salt: Uint8Array;
  /** Message ids as 64 hex digits, or null. */
  replaces: string | null;
  inReplyTo: string | null;
  senderUri: string | undefined;
  roomUri: string | undefined;
  body: Body;
}

export type Read =
  | { format: "mimi"; content: MimiContent; id: string; shown: Shown }
  | { format: "text"; shown: Shown }
  | { format: "bytes"; shown: Shown };

/** Text to show, or "unsupported content" with the media type that could not be shown. */
export type Shown = { text: string } | { unsupported: string };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Text = (bytes: Uint8Array) => {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
};

/** Section 7: `0x01 || SHA-256(len16(senderUri) || senderUri || len16(roomUri) || roomUri || content || salt)[0..30]`. */
export function messageId(senderUri: string, roomUri: string, plaintext: Uint8Array, salt: Uint8Array) {
  const len16 = (bytes: Buffer) => Buffer.from([bytes.length >> 8, bytes.length & 0xff]);
  const sender = Buffer.from(senderUri, "utf8");
  const room = Buffer.from(roomUri, "utf8");
  const hash = createHash("sha256")
    .update(len16(sender))
    .update(sender)
    .update(len16(room))
    .update(room)
    .update(plaintext)
    .update(salt)
    .digest();
  return Buffer.concat([Buffer.from([0x01]), hash.subarray(0, 31)]).toString("hex");
}

function must<T>(ok: boolean, value: T, what: string): T {
  if (!ok) throw new Error(`bad MIMI content: ${what}`);
  return value;
}

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;

function messageIdField(value: unknown, name: string): string | null {
  if (value === null) return null;
  if (!isBytes(value) || value.length !== 32) throw new Error(`bad MIMI content: ${name} is not 32 bytes`);
  return Buffer.from(value).toString("hex");
}

function body(value: unknown): Body {
  const part = must(Array.isArray(value) && value.length >= 3, value as unknown[], "the body is not a part");
  const [disposition, language, cardinality, contentType, content] = part;
  must(
    Number.isInteger(disposition) && (disposition as number) >= 0 && (disposition as number) <= 255,
    0,
    "disposition",
  );
  must(typeof language === "string", 0, "language");
  const d = disposition as number;
  switch (cardinality) {
    case 0:
      return must(part.length === 3, { cardinality: "null", disposition: d }, "a null part has 3 items");
    case 1:
      must(part.length === 5 && typeof contentType === "string" && isBytes(content), 0, "a single part");
      return {
        cardinality: "single",
        disposition: d,
        contentType: contentType as string,
        content: content as Uint8Array,
      };
    case 2:
      return must(part.length === 15, { cardinality: "external", disposition: d }, "an external part");
    case 3:
      return must(part.length === 5, { cardinality: "multi", disposition: d }, "a multipart");
    default:
      throw new Error("bad MIMI content: unknown cardinality");
  }
}

/** Strict CBOR (definite lengths, shortest forms, no duplicate keys, no tags) and the fields' types. */
export function decodeMimiContent(plaintext: Uint8Array): MimiContent {
  const value: unknown = decode(plaintext, {
    strict: true,
    useMaps: true,
    rejectDuplicateMapKeys: true,
    allowIndefinite: false,
    allowUndefined: false,
    allowNaN: false,
    allowInfinity: false,
    allowBigInt: false,
  });
  const fields = must(Array.isArray(value) && value.length === 7, value as unknown[], "not an array of 7");
  const [salt, replaces, topicId, expires, inReplyTo, extensions] = fields;
  must(isBytes(salt) && salt.length === 16, 0, "salt is not 16 bytes");
  must(isBytes(topicId), 0, "topicId is not bytes");
  must(expires === null || (Array.isArray(expires) && expires.length === 2), 0, "expires");
  must(extensions instanceof Map, 0, "mimiExtensions is not a map");
  const map = extensions as Map<unknown, unknown>;
  const uri = (key: number) => {
    const found = map.get(key);
    return must(
      found === undefined || typeof found === "string",
      found as string | undefined,
      `extension ${key}`,
    );
  };
  return {
    salt: salt as Uint8Array,
    replaces: messageIdField(replaces, "replaces"),
    inReplyTo: messageIdField(inReplyTo, "inReplyTo"),
    senderUri: uri(1),
    roomUri: uri(2),
    body: body(fields[6]),
  };
}

function show(part: Body): Shown {
  if (part.cardinality !== "single") return { unsupported: part.cardinality };
  const [type = "", ...parameters] = part.contentType.split(";").map((p) => p.trim().toLowerCase());
  const charset = parameters.find((p) => p.startsWith("charset="));
  const text = utf8Text(part.content);
  const shownDisposition = part.disposition <= 2 || part.disposition === 4 || part.disposition > 8;
  return TEXT_TYPES.has(type) &&
    (charset === undefined || charset === "charset=utf-8") &&
    shownDisposition &&
    text !== undefined
    ? { text }
    : { unsupported: part.contentType };
}

/**
 * Reads a plaintext that MLS verified as `senderUri`'s in `roomUri`: the content must not name
 * another sender or channel. Throws on content section 7 says to refuse.
 */
export function readPlaintext(plaintext: Uint8Array, senderUri: string, roomUri: string): Read {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new Error("a plaintext larger than 64 KiB");
  if (plaintext[0] === 0x87) {
    const content = decodeMimiContent(plaintext);
    if ((content.senderUri ?? senderUri) !== senderUri || (content.roomUri ?? roomUri) !== roomUri)
      throw new Error("the content names another sender or channel");
    const id = messageId(senderUri, roomUri, plaintext, content.salt);
    return { format: "mimi", content, id, shown: show(content.body) };
  }
  const text = utf8Text(plaintext);
  if (text === undefined) return { format: "bytes", shown: { unsupported: "application/octet-stream" } };
  return { format: "text", shown: { text } };
}
