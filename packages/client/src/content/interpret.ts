import { claimsLegacyProfile, type LegacyContent, parseLegacyContent } from "./legacy-json.js";
import {
  Disposition,
  MAX_MIMI_CONTENT_BYTES,
  type MimiContent,
  type NestedPart,
  PartSemantics,
  parseContent,
  TEXT_PLAIN,
} from "./mimi-content.js";

/**
 * What a decrypted plaintext says, whatever its format: MIMI content (CBOR), the earlier JSON
 * profile, plain UTF-8 text, or bytes this client cannot read. Pure.
 */

/** A message of its own, or an edit, deletion or reaction of the message it names. */
export type MessageKind = "message" | "edit" | "delete" | "reaction";

/** How the plaintext was encoded. */
export type PlaintextFormat = "mimi" | "json" | "text" | "bytes";

export type Plaintext =
  | { format: "mimi"; content: MimiContent }
  | { format: "json"; content: LegacyContent }
  | { format: "text"; text: string }
  | { format: "bytes"; size: number };

/** What a message shows and does, as stored (see StoredMessage). */
export interface MessageFacts {
  format: PlaintextFormat;
  kind: MessageKind;
  /** The media type of what is shown (or of what could not be shown). */
  contentType: string;
  /** The text shown; empty for a deletion and for unsupported content. */
  content: string;
  /** Content this client does not show: kept with its type and size rather than dropped. */
  unsupported?: { size: number };
  inReplyTo?: string;
  replaces?: string;
}

/** A reaction is shown next to its message when it is short text without spaces or controls. */
export const MAX_REACTION_BYTES = 64;
/** A media type longer than this is not repeated (a hostile sender could make it fill a screen). */
const MAX_SHOWN_TYPE_CHARS = 200;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function isSimpleReaction(text: string): boolean {
  return (
    text.length > 0 &&
    Buffer.byteLength(text, "utf8") <= MAX_REACTION_BYTES &&
    /^[^\s\p{Cc}\p{Zl}\p{Zp}]+$/u.test(text)
  );
}

/**
 * Sorts a plaintext by format. MIMI content (a CBOR array of 7, first byte 0x87, which no UTF-8
 * text starts with) and JSON that claims the earlier profile are read strictly: a failure refuses
 * the message. Any other UTF-8 is text; anything else is kept as bytes.
 */
export function readPlaintext(
  bytes: Uint8Array,
): { ok: true; plaintext: Plaintext } | { ok: false; detail: string } {
  if (bytes.length > MAX_MIMI_CONTENT_BYTES)
    return { ok: false, detail: `a plaintext larger than ${MAX_MIMI_CONTENT_BYTES} bytes` };
  if (bytes[0] === 0x87) {
    const parsed = parseContent(bytes);
    return parsed.ok ? { ok: true, plaintext: { format: "mimi", content: parsed.content } } : parsed;
  }
  const text = utf8Text(bytes);
  if (text === undefined) return { ok: true, plaintext: { format: "bytes", size: bytes.length } };
  if (text.trimStart().startsWith("{")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (claimsLegacyProfile(value)) {
      const legacy = parseLegacyContent(value);
      return legacy.ok ? { ok: true, plaintext: { format: "json", content: legacy.content } } : legacy;
    }
  }
  return { ok: true, plaintext: { format: "text", text } };
}

function mediaType(contentType: string): { type: string; charset?: string } {
  const [type = "", ...parameters] = contentType.split(";").map((piece) => piece.trim().toLowerCase());
  const charset = parameters.find((p) => p.startsWith("charset="))?.slice("charset=".length);
  return charset === undefined ? { type } : { type, charset: charset.replace(/^"|"$/g, "") };
}

/** text/plain and text/markdown (shown as its source), in UTF-8. */
function isShownAsText(contentType: string): boolean {
  const { type, charset } = mediaType(contentType);
  return (
    (type === "text/plain" || type === "text/markdown") && (charset === undefined || charset === "utf-8")
  );
}

/** Dispositions shown in the conversation; unknown ones (9-255) count as `render`, as the draft says. */
function isShownDisposition(disposition: number, asReaction: boolean): boolean {
  return (
    disposition === Disposition.unspecified ||
    disposition === Disposition.render ||
    disposition === Disposition.inline ||
    disposition > Disposition.preview ||
    (asReaction && disposition === Disposition.reaction)
  );
}

function shownType(contentType: string): string {
  return contentType.length > MAX_SHOWN_TYPE_CHARS ? "(a media type too long to show)" : contentType;
}

function inlineSize(part: NestedPart): number {
  switch (part.cardinality) {
    case "null":
      return 0;
    case "single":
      return part.content.length;
    case "external":
      return part.size;
    case "multi":
      return part.parts.reduce((total, inner) => total + inlineSize(inner), 0);
  }
}

const MULTIPART_TYPES = ["multipart/alternative", "multipart/related", "multipart/mixed"];

type Shown = Pick<MessageFacts, "contentType" | "content" | "unsupported">;

/** The text a body shows, or its type and size when it shows none this client can render. */
function showPart(part: NestedPart, asReaction: boolean): Shown {
  if (part.cardinality === "single" && isShownDisposition(part.disposition, asReaction)) {
    const text = isShownAsText(part.contentType) ? utf8Text(part.content) : undefined;
    if (text !== undefined) return { contentType: part.contentType, content: text };
  }
  if (part.cardinality === "multi" && part.partSemantics === PartSemantics.chooseOne) {
    // Alternatives: the first one that can be shown.
    for (const alternative of part.parts) {
      const shown = showPart(alternative, asReaction);
      if (!shown.unsupported) return shown;
    }
  }
  const contentType =
    part.cardinality === "multi"
      ? (MULTIPART_TYPES[part.partSemantics] ?? "multipart")
      : part.cardinality === "null"
        ? "(no content)"
        : shownType(part.contentType);
  return { contentType, content: "", unsupported: { size: inlineSize(part) } };
}

/**
 * The draft's semantics (section 5, "Examples"): `replaces` with a null part deletes, `replaces`
 * with content edits, the `reaction` disposition with `inReplyTo` reacts; anything else is a
 * message, a reply when it has `inReplyTo`.
 */
export function describeMimiContent(content: MimiContent): Omit<MessageFacts, "format"> {
  const references = {
    ...(content.inReplyTo !== null ? { inReplyTo: content.inReplyTo } : {}),
    ...(content.replaces !== null ? { replaces: content.replaces } : {}),
  };
  const body = content.body;
  if (content.replaces !== null && body.cardinality === "null")
    return { kind: "delete", contentType: "", content: "", ...references };
  const isReaction = body.disposition === Disposition.reaction && content.inReplyTo !== null;
  const kind: MessageKind = content.replaces !== null ? "edit" : isReaction ? "reaction" : "message";
  return { kind, ...showPart(body, body.disposition === Disposition.reaction), ...references };
}

/** The facts of any plaintext (without the id, which depends on who sent it where). */
export function describePlaintext(plaintext: Plaintext): MessageFacts {
  switch (plaintext.format) {
    case "mimi":
      return { format: "mimi", ...describeMimiContent(plaintext.content) };
    case "json": {
      const { inReplyTo, contentType, content } = plaintext.content;
      return {
        format: "json",
        kind: "message",
        contentType,
        content,
        ...(inReplyTo !== undefined ? { inReplyTo } : {}),
      };
    }
    case "text":
      return { format: "text", kind: "message", contentType: TEXT_PLAIN, content: plaintext.text };
    case "bytes":
      return {
        format: "bytes",
        kind: "message",
        contentType: "application/octet-stream",
        content: "",
        unsupported: { size: plaintext.size },
      };
  }
}
