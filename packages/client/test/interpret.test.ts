import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  describeMimiContent,
  describePlaintext,
  isSimpleReaction,
  readPlaintext,
} from "../src/content/interpret.js";
import { normalizeMessageId } from "../src/content/legacy-json.js";
import {
  createContent,
  Disposition,
  encodeContent,
  type NestedPart,
  nullPart,
  PartSemantics,
  TEXT_PLAIN,
  textPart,
} from "../src/content/mimi-content.js";
import { legacyPlaintext } from "./legacy-content.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
const target = `01${"cd".repeat(31)}`;
const base = { senderUri: "acct:bob@b.test", roomUri: "http://a.test/channels/abc" };

describe("a plaintext", () => {
  it("that is MIMI content is read as such", () => {
    const bytes = encodeContent(createContent({ ...base, body: textPart("hi") }));
    const read = readPlaintext(bytes);
    expect(read.ok && read.plaintext.format).toBe("mimi");
  });

  it("that is plain UTF-8 text is shown as text, JSON that does not claim the old profile included", () => {
    for (const text of ["just words", '{"hello": 1}', ""]) {
      const read = readPlaintext(utf8(text));
      expect(read).toEqual({ ok: true, plaintext: { format: "text", text } });
      if (read.ok)
        expect(describePlaintext(read.plaintext)).toEqual({
          format: "text",
          kind: "message",
          contentType: TEXT_PLAIN,
          content: text,
        });
    }
  });

  it("that is neither is kept as unsupported bytes, with its size", () => {
    const read = readPlaintext(Uint8Array.of(0xa1, 0x01, 0xff, 0xfe));
    expect(read).toEqual({ ok: true, plaintext: { format: "bytes", size: 4 } });
    if (read.ok)
      expect(describePlaintext(read.plaintext)).toMatchObject({
        contentType: "application/octet-stream",
        content: "",
        unsupported: { size: 4 },
      });
  });

  it("of the earlier JSON profile is still read, its id as hex; a tampered one is refused", () => {
    const legacy = legacyPlaintext({ ...base, content: "from an older peer" });
    const read = readPlaintext(legacy.bytes);
    expect(read.ok && read.plaintext).toMatchObject({
      format: "json",
      content: { id: Buffer.from(legacy.id, "base64url").toString("hex"), content: "from an older peer" },
    });
    const tampered = utf8(new TextDecoder().decode(legacy.bytes).replace("older", "other"));
    expect(readPlaintext(tampered)).toEqual({
      ok: false,
      detail: "the message id does not match its content",
    });
    expect(readPlaintext(utf8('{"mimiContent": 2}'))).toEqual({
      ok: false,
      detail: "unknown content profile (mimiContent must be 1)",
    });
  });

  it("larger than the limit is refused, whatever it is", () => {
    expect(readPlaintext(new Uint8Array(64 * 1024 + 1).fill(0x61))).toEqual({
      ok: false,
      detail: "a plaintext larger than 65536 bytes",
    });
  });

  it("ids of the earlier profile become hex; other strings stay as they are", () => {
    const id = createHash("sha256").update("x").digest();
    expect(normalizeMessageId(id.toString("base64url"))).toBe(id.toString("hex"));
    expect(normalizeMessageId(id.toString("hex"))).toBe(id.toString("hex"));
    expect(normalizeMessageId("earlier")).toBe("earlier");
  });
});

describe("what MIMI content does", () => {
  const describe_ = (input: Partial<Parameters<typeof createContent>[0]> & { body: NestedPart }) =>
    describeMimiContent(createContent({ ...base, ...input }));

  it("a message, and a reply", () => {
    expect(describe_({ body: textPart("hi") })).toEqual({
      kind: "message",
      contentType: TEXT_PLAIN,
      content: "hi",
    });
    expect(describe_({ body: textPart("re"), inReplyTo: target })).toMatchObject({
      kind: "message",
      inReplyTo: target,
    });
  });

  it("an edit: replaces with content; a deletion: replaces with a null part (an unlike too)", () => {
    expect(describe_({ body: textPart("fixed"), replaces: target })).toMatchObject({
      kind: "edit",
      replaces: target,
      content: "fixed",
    });
    expect(describe_({ body: nullPart(), replaces: target })).toEqual({
      kind: "delete",
      contentType: "",
      content: "",
      replaces: target,
    });
    expect(
      describe_({ body: nullPart(Disposition.reaction), replaces: target, inReplyTo: target }),
    ).toMatchObject({
      kind: "delete",
    });
  });

  it("a reaction: the reaction disposition with inReplyTo", () => {
    expect(describe_({ body: textPart("❤", Disposition.reaction), inReplyTo: target })).toEqual({
      kind: "reaction",
      contentType: TEXT_PLAIN,
      content: "❤",
      inReplyTo: target,
    });
  });

  it("shows text/plain and text/markdown in UTF-8, unknown dispositions as render", () => {
    const markdown: NestedPart = {
      disposition: 200,
      language: "en",
      cardinality: "single",
      contentType: "text/markdown;variant=GFM-MIMI",
      content: utf8("__hi__"),
    };
    expect(describe_({ body: markdown })).toMatchObject({
      content: "__hi__",
      contentType: markdown.contentType,
    });
  });

  it("keeps what it cannot show with its type and size: other types, attachments, bad UTF-8, external parts", () => {
    const image: NestedPart = {
      disposition: Disposition.render,
      language: "",
      cardinality: "single",
      contentType: "image/png",
      content: new Uint8Array(2048),
    };
    expect(describe_({ body: image })).toEqual({
      kind: "message",
      contentType: "image/png",
      content: "",
      unsupported: { size: 2048 },
    });
    expect(describe_({ body: textPart("x", Disposition.attachment) }).unsupported).toEqual({ size: 1 });
    const latin1: NestedPart = {
      ...image,
      contentType: "text/plain;charset=iso-8859-1",
      content: Uint8Array.of(0xe9),
    };
    expect(describe_({ body: latin1 }).unsupported).toEqual({ size: 1 });
    const badUtf8: NestedPart = { ...image, contentType: TEXT_PLAIN, content: Uint8Array.of(0xff) };
    expect(describe_({ body: badUtf8 }).unsupported).toEqual({ size: 1 });
    const external: NestedPart = {
      disposition: Disposition.attachment,
      language: "",
      cardinality: "external",
      contentType: "video/mp4",
      url: "https://example.com/v.mp4",
      expires: 0,
      size: 708234961,
      encAlg: 1,
      key: new Uint8Array(16),
      nonce: new Uint8Array(12),
      aad: new Uint8Array(0),
      hashAlg: 1,
      contentHash: new Uint8Array(32),
      description: "",
      filename: "v.mp4",
    };
    expect(describe_({ body: external })).toMatchObject({
      contentType: "video/mp4",
      unsupported: { size: 708234961 },
    });
    const longType: NestedPart = { ...image, contentType: `image/${"x".repeat(500)}` };
    expect(describe_({ body: longType }).contentType).toBe("(a media type too long to show)");
  });

  it("picks the first alternative it can show; other multiparts are unsupported", () => {
    const html: NestedPart = {
      disposition: Disposition.render,
      language: "",
      cardinality: "single",
      contentType: "text/html",
      content: utf8("<b>hi</b>"),
    };
    const alternatives: NestedPart = {
      disposition: Disposition.render,
      language: "",
      cardinality: "multi",
      partSemantics: PartSemantics.chooseOne,
      parts: [html, textPart("hi")],
    };
    expect(describe_({ body: alternatives })).toMatchObject({ content: "hi", contentType: TEXT_PLAIN });
    expect(describe_({ body: { ...alternatives, partSemantics: PartSemantics.processAll } })).toEqual({
      kind: "message",
      contentType: "multipart/mixed",
      content: "",
      unsupported: { size: 11 },
    });
  });
});

describe("a reaction shown next to its message", () => {
  it("is short text without spaces or controls", () => {
    for (const ok of ["❤", "👍", "👩🏽‍⚕️", "+1"]) expect(isSimpleReaction(ok), ok).toBe(true);
    for (const bad of ["", "a b", "x\ny", "\u001b[2J", "x".repeat(65), "\u2028"])
      expect(isSimpleReaction(bad), bad).toBe(false);
  });
});
