import { createHash, randomBytes } from "node:crypto";
import { type DecodeOptions, decode, encode, type Token, Tokenizer, Type } from "cborg";

/**
 * The MIMI content format (draft-ietf-mimi-content-08): the plaintext of every MLS application
 * message, a CBOR array
 *
 *   [salt, replaces, topicId, expires, inReplyTo, mimiExtensions {1: senderUri, 2: roomUri}, body]
 *
 * where the body is a NestedPart `[disposition, language, cardinality, ...]`. Pure: encoding,
 * strict decoding and the message id. Message ids are carried as lowercase hex strings (64
 * characters for the 32 bytes of the draft's MessageId).
 */

export const MIMI_CONTENT_TYPE = "application/mimi-content";
export const TEXT_PLAIN = "text/plain;charset=utf-8";

/** The largest plaintext sent or read (bytes): what a peer can make us decode and store. */
export const MAX_MIMI_CONTENT_BYTES = 64 * 1024;
/** Arrays and maps inside one another, counting the content's own array. */
export const MAX_CBOR_DEPTH = 16;
/** The draft's limits on bodies (Security Considerations, "General handling"). */
export const MAX_PART_NESTING = 4;
export const MAX_PARTS = 1024;
export const MAX_TOPIC_ID_BYTES = 4096;

/** The draft's dispositions (IANA "MIMI Disposition" values); 9-255 are unknown and shown as `render`. */
export const Disposition = {
  unspecified: 0,
  render: 1,
  reaction: 2,
  profile: 3,
  inline: 4,
  icon: 5,
  attachment: 6,
  session: 7,
  preview: 8,
} as const;

export const PartSemantics = { chooseOne: 0, singleUnit: 1, processAll: 2 } as const;

const Cardinality = { nullpart: 0, single: 1, external: 2, multi: 3 } as const;

export type NestedPart = { disposition: number; language: string } & (
  | { cardinality: "null" }
  | { cardinality: "single"; contentType: string; content: Uint8Array }
  | {
      cardinality: "external";
      contentType: string;
      url: string;
      expires: number;
      size: number;
      encAlg: number;
      key: Uint8Array;
      nonce: Uint8Array;
      aad: Uint8Array;
      hashAlg: number;
      contentHash: Uint8Array;
      description: string;
      filename: string;
    }
  | { cardinality: "multi"; partSemantics: number; parts: NestedPart[] }
);

export interface Expiration {
  relative: boolean;
  /** Seconds: after reading (relative) or since the UNIX epoch (absolute). */
  time: number;
}

export interface MimiContent {
  /** 16 random bytes: equal messages get different ids. */
  salt: Uint8Array;
  /** Id of the message this one edits or deletes (the first version of it). */
  replaces: string | null;
  topicId: Uint8Array;
  expires: Expiration | null;
  /** Id of the message this one answers or reacts to. */
  inReplyTo: string | null;
  /** Extension 1. */
  senderUri?: string;
  /** Extension 2. */
  roomUri?: string;
  /** Extensions other than 1 and 2, by key, as decoded. */
  otherExtensions: Map<number | string, unknown>;
  body: NestedPart;
}

export type ContentParseResult = { ok: true; content: MimiContent } | { ok: false; detail: string };

const utf8 = new TextEncoder();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** A message id as this client carries it: 64 lowercase hex digits. */
export const isMessageId = (value: string) => /^[0-9a-f]{64}$/.test(value);

/**
 * The draft's message id (section 2.3, "Message ID"):
 *
 *   hash_output = SHA-256(senderUriLength || senderUri || roomUriLength || roomUri || message || salt)
 *   messageId   = 0x01 || hash_output[0..30]
 *
 * where the lengths are big-endian 16-bit counts of the URIs' UTF-8 octets, `message` is the whole
 * encoded content (salt included) and 0x01 is SHA-256 in the IANA named-information registry.
 */
export function messageIdOf(
  senderUri: string,
  roomUri: string,
  encoded: Uint8Array,
  salt: Uint8Array,
): string {
  const sender = utf8.encode(senderUri);
  const room = utf8.encode(roomUri);
  if (sender.length > 0xffff || room.length > 0xffff) throw new RangeError("a URI longer than 65535 octets");
  const length = (n: number) => Uint8Array.of(n >> 8, n & 0xff);
  const hash = createHash("sha256")
    .update(length(sender.length))
    .update(sender)
    .update(length(room.length))
    .update(room)
    .update(encoded)
    .update(salt)
    .digest();
  return hex(Uint8Array.of(0x01, ...hash.subarray(0, 31)));
}

// Building

export const textPart = (text: string, disposition: number = Disposition.render): NestedPart => ({
  disposition,
  language: "",
  cardinality: "single",
  contentType: TEXT_PLAIN,
  content: utf8.encode(text),
});

export const nullPart = (disposition: number = Disposition.render): NestedPart => ({
  disposition,
  language: "",
  cardinality: "null",
});

export interface NewContent {
  senderUri: string;
  roomUri: string;
  body: NestedPart;
  replaces?: string;
  inReplyTo?: string;
  salt?: Uint8Array;
}

export function createContent(input: NewContent): MimiContent {
  for (const id of [input.replaces, input.inReplyTo])
    if (id !== undefined && !isMessageId(id)) throw new Error(`not a message id: ${id}`);
  return {
    salt: input.salt ?? new Uint8Array(randomBytes(16)),
    replaces: input.replaces ?? null,
    topicId: new Uint8Array(0),
    expires: null,
    inReplyTo: input.inReplyTo ?? null,
    senderUri: input.senderUri,
    roomUri: input.roomUri,
    otherExtensions: new Map(),
    body: input.body,
  };
}

/** A text message (`render`, text/plain), optionally a reply. */
export function createTextContent(input: {
  senderUri: string;
  roomUri: string;
  text: string;
  inReplyTo?: string;
  salt?: Uint8Array;
}): MimiContent {
  const { text, ...rest } = input;
  return createContent({ ...rest, body: textPart(text) });
}

function encodePart(part: NestedPart): unknown[] {
  const head = [part.disposition, part.language];
  switch (part.cardinality) {
    case "null":
      return [...head, Cardinality.nullpart];
    case "single":
      return [...head, Cardinality.single, part.contentType, part.content];
    case "external":
      return [
        ...head,
        Cardinality.external,
        part.contentType,
        part.url,
        part.expires,
        part.size,
        part.encAlg,
        part.key,
        part.nonce,
        part.aad,
        part.hashAlg,
        part.contentHash,
        part.description,
        part.filename,
      ];
    case "multi":
      return [...head, Cardinality.multi, part.partSemantics, part.parts.map(encodePart)];
  }
}

/** Deterministic CBOR (RFC 8949 section 4.2.1, as the draft requires): shortest forms, sorted map keys. */
export function encodeContent(content: MimiContent): Uint8Array {
  const extensions = new Map<number | string, unknown>(content.otherExtensions);
  if (content.senderUri !== undefined) extensions.set(1, content.senderUri);
  if (content.roomUri !== undefined) extensions.set(2, content.roomUri);
  const id = (value: string | null) => (value === null ? null : Buffer.from(value, "hex"));
  return encode([
    content.salt,
    id(content.replaces),
    content.topicId,
    content.expires === null ? null : [content.expires.relative, content.expires.time],
    id(content.inReplyTo),
    extensions,
    encodePart(content.body),
  ]);
}

/** The bytes to encrypt and the id every member derives for them (from the extensions' URIs). */
export function sealContent(content: MimiContent): { bytes: Uint8Array; id: string } {
  if (content.senderUri === undefined || content.roomUri === undefined)
    throw new Error("content to send names its sender and room");
  const bytes = encodeContent(content);
  return { bytes, id: messageIdOf(content.senderUri, content.roomUri, bytes, content.salt) };
}

// Decoding

class ContentError extends Error {}

type DecodeTokenizer = NonNullable<DecodeOptions["tokenizer"]>;

/**
 * cborg's tokenizer, watched: the nesting depth is checked before cborg descends (its decoder
 * recurses), and text strings must be valid UTF-8 (cborg would replace bad bytes silently).
 */
class BoundedTokenizer implements DecodeTokenizer {
  private readonly inner: Tokenizer;
  /** Items still expected by each open array or map, innermost last. */
  private readonly open: number[] = [];
  private readonly strictUtf8 = new TextDecoder("utf-8", { fatal: true });

  constructor(data: Uint8Array, options: DecodeOptions) {
    this.inner = new Tokenizer(data, options);
  }

  done() {
    return this.inner.done();
  }

  pos() {
    return this.inner.pos();
  }

  next(): Token {
    const token = this.inner.next();
    const innermost = this.open.length - 1;
    if (innermost >= 0) this.open[innermost] = (this.open[innermost] ?? 1) - 1;
    if (Type.equals(token.type, Type.string) && token.byteValue) {
      try {
        this.strictUtf8.decode(token.byteValue);
      } catch {
        throw new ContentError("a text string is not UTF-8");
      }
    }
    const children = Type.equals(token.type, Type.array)
      ? Number(token.value)
      : Type.equals(token.type, Type.map)
        ? 2 * Number(token.value)
        : Type.equals(token.type, Type.tag)
          ? 1
          : 0;
    if (children > 0) {
      this.open.push(children);
      if (this.open.length > MAX_CBOR_DEPTH)
        throw new ContentError(`nested deeper than ${MAX_CBOR_DEPTH} arrays and maps`);
    }
    while (this.open.length > 0 && this.open[this.open.length - 1] === 0) this.open.pop();
    return token;
  }
}

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
  useMaps: true,
  rejectDuplicateMapKeys: true,
  retainStringBytes: true,
} as const;

/** Decodes one CBOR item within the bounds above; the whole input must be that item. */
function decodeBounded(bytes: Uint8Array): unknown {
  return decode(bytes, { ...DECODE_OPTIONS, tokenizer: new BoundedTokenizer(bytes, DECODE_OPTIONS) });
}

const fail = (detail: string): never => {
  throw new ContentError(detail);
};

const isUint = (value: unknown, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= max;

function bytesField(value: unknown, name: string, size?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) return fail(`${name} must be a byte string`);
  if (size !== undefined && value.length !== size) return fail(`${name} must be ${size} bytes`);
  // A copy, as a plain Uint8Array: cborg may hand out Buffers that share the input's memory.
  return Uint8Array.from(value);
}

function textField(value: unknown, name: string): string {
  return typeof value === "string" ? value : fail(`${name} must be a text string`);
}

function uintField(value: unknown, name: string, max: number): number {
  return isUint(value, max) ? value : fail(`${name} must be an unsigned integer up to ${max}`);
}

function messageIdField(value: unknown, name: string): string | null {
  return value === null ? null : hex(bytesField(value, name, 32));
}

function arrayOf(value: unknown, name: string, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length)
    return fail(`${name} must be an array of ${length} items`);
  return value;
}

/** Parts read so far, against MAX_PARTS. */
interface PartCount {
  parts: number;
}

function readPart(value: unknown, level: number, count: PartCount): NestedPart {
  if (level > MAX_PART_NESTING) fail(`body parts nested deeper than ${MAX_PART_NESTING} levels`);
  count.parts += 1;
  if (count.parts > MAX_PARTS) fail(`more than ${MAX_PARTS} body parts`);
  if (!Array.isArray(value) || value.length < 3) return fail("a body part must be an array");
  const disposition = uintField(value[0], "disposition", 255);
  const language = textField(value[1], "language");
  const cardinality = value[2];
  switch (cardinality) {
    case Cardinality.nullpart:
      arrayOf(value, "a null part", 3);
      return { disposition, language, cardinality: "null" };
    case Cardinality.single:
      arrayOf(value, "a single part", 5);
      return {
        disposition,
        language,
        cardinality: "single",
        contentType: textField(value[3], "contentType"),
        content: bytesField(value[4], "content"),
      };
    case Cardinality.external:
      arrayOf(value, "an external part", 15);
      return {
        disposition,
        language,
        cardinality: "external",
        contentType: textField(value[3], "contentType"),
        url: textField(value[4], "url"),
        expires: uintField(value[5], "expires", 0xffffffff),
        size: uintField(value[6], "size", Number.MAX_SAFE_INTEGER),
        encAlg: uintField(value[7], "encAlg", 0xffff),
        key: bytesField(value[8], "key"),
        nonce: bytesField(value[9], "nonce"),
        aad: bytesField(value[10], "aad"),
        hashAlg: uintField(value[11], "hashAlg", 0xff),
        contentHash: bytesField(value[12], "contentHash"),
        description: textField(value[13], "description"),
        filename: textField(value[14], "filename"),
      };
    case Cardinality.multi: {
      arrayOf(value, "a multipart", 5);
      const partSemantics = uintField(value[3], "partSemantics", PartSemantics.processAll);
      const parts = value[4];
      if (!Array.isArray(parts) || parts.length < 2) return fail("a multipart must have at least 2 parts");
      return {
        disposition,
        language,
        cardinality: "multi",
        partSemantics,
        parts: parts.map((part) => readPart(part, level + 1, count)),
      };
    }
    default:
      return fail("unknown cardinality");
  }
}

function readExpiration(value: unknown): Expiration | null {
  if (value === null) return null;
  const [relative, time] = arrayOf(value, "expires", 2);
  if (typeof relative !== "boolean") return fail("expires.relative must be a boolean");
  return { relative, time: uintField(time, "expires.time", 0xffffffff) };
}

function readExtensions(value: unknown): Pick<MimiContent, "senderUri" | "roomUri" | "otherExtensions"> {
  if (!(value instanceof Map)) return fail("mimiExtensions must be a map");
  const result: Pick<MimiContent, "senderUri" | "roomUri" | "otherExtensions"> = {
    otherExtensions: new Map(),
  };
  for (const [key, extension] of value) {
    if (typeof key === "number") {
      if (!Number.isSafeInteger(key)) fail("an extension key must be an integer or a text string");
    } else if (typeof key === "string") {
      const length = utf8.encode(key).length;
      if (length < 1 || length > 255) fail("an extension's text key must be 1 to 255 octets");
    } else fail("an extension key must be an integer or a text string");
    if (key === 1) result.senderUri = textField(extension, "senderUri");
    else if (key === 2) result.roomUri = textField(extension, "roomUri");
    else result.otherExtensions.set(key as number | string, extension);
  }
  return result;
}

/**
 * Decodes MIMI content strictly: at most MAX_MIMI_CONTENT_BYTES, definite lengths in their
 * shortest form, no tags, no duplicate map keys, UTF-8 text, the draft's types in every field,
 * bodies within the draft's nesting and part limits. Map key order is not checked.
 */
export function parseContent(bytes: Uint8Array): ContentParseResult {
  if (bytes.length > MAX_MIMI_CONTENT_BYTES)
    return { ok: false, detail: `content larger than ${MAX_MIMI_CONTENT_BYTES} bytes` };
  try {
    let value: unknown;
    try {
      value = decodeBounded(bytes);
    } catch (error) {
      if (error instanceof ContentError) throw error;
      // cborg's own messages name the byte that broke it; one line of it is enough.
      const message = error instanceof Error ? error.message.replace(/^CBOR decode error: /, "") : "";
      return fail(`not CBOR: ${message.split("\n")[0]}`);
    }
    const fields = arrayOf(value, "MIMI content", 7);
    const salt = bytesField(fields[0], "salt", 16);
    const replaces = messageIdField(fields[1], "replaces");
    const topicId = bytesField(fields[2], "topicId");
    if (topicId.length > MAX_TOPIC_ID_BYTES) fail(`topicId longer than ${MAX_TOPIC_ID_BYTES} bytes`);
    const content: MimiContent = {
      salt,
      replaces,
      topicId,
      expires: readExpiration(fields[3]),
      inReplyTo: messageIdField(fields[4], "inReplyTo"),
      ...readExtensions(fields[5]),
      body: readPart(fields[6], 1, { parts: 0 }),
    };
    return { ok: true, content };
  } catch (error) {
    if (error instanceof ContentError) return { ok: false, detail: `bad MIMI content: ${error.message}` };
    throw error;
  }
}
