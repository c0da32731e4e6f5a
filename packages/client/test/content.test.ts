import { createHash } from "node:crypto";
import { encode } from "cborg";
import { describe, expect, it } from "vitest";
import {
  createContent,
  createTextContent,
  Disposition,
  encodeContent,
  MAX_MIMI_CONTENT_BYTES,
  type MimiContent,
  messageIdOf,
  type NestedPart,
  nullPart,
  parseContent,
  sealContent,
  TEXT_PLAIN,
  textPart,
} from "../src/content/mimi-content.js";
import { SseParser } from "../src/sse.js";

const hex = (value: string) => new Uint8Array(Buffer.from(value.replace(/\s+/g, ""), "hex"));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const utf8 = (text: string) => new TextEncoder().encode(text);

const ROOM = "mimi://example.com/r/engineering_team";

/** draft-ietf-mimi-content-08, section 5.1 "Original Message": the instance document's fields. */
const original = createContent({
  senderUri: "mimi://example.com/u/alice-smith",
  roomUri: ROOM,
  salt: hex("5eed9406c2545547ab6f09f20a18b003"),
  body: {
    disposition: Disposition.render,
    language: "",
    cardinality: "single",
    contentType: "text/markdown;variant=GFM-MIMI",
    content: utf8("Hi everyone, we just shipped release 2.0. __Good  work__!"),
  },
});

/** The same section's pretty-printed CBOR. */
const ORIGINAL_CBOR = `87 50 5eed9406c2545547ab6f09f20a18b003 f6 40 f6 f6
  a2 01 7820 6d696d693a2f2f6578616d706c652e636f6d2f752f616c6963652d736d697468
     02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
  85 01 60 01 781e 746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d49
     5839 48692065766572796f6e652c207765206a75737420736869707065642072656c6561736520322e302e205f5f476f6f642020776f726b5f5f21`;

/** The draft's message id written out: SHA-256 over the length-prefixed URIs, the message and the salt again. */
function independentId(senderUri: string, roomUri: string, message: Uint8Array, salt: Uint8Array): string {
  const sender = Buffer.from(senderUri, "utf8");
  const room = Buffer.from(roomUri, "utf8");
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const digest = createHash("sha256")
    .update(Buffer.concat([u16(sender.length), sender, u16(room.length), room, message, salt]))
    .digest();
  return `01${digest.subarray(0, 31).toString("hex")}`;
}

describe("MIMI content encoding", () => {
  it("encodes the draft's original message byte for byte and derives the draft's message id", () => {
    const bytes = encodeContent(original);
    expect(toHex(bytes)).toBe(toHex(hex(ORIGINAL_CBOR)));
    expect(messageIdOf(original.senderUri ?? "", ROOM, bytes, original.salt)).toBe(
      "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4",
    );
  });

  it("derives the draft's id of its reaction example (inReplyTo the original)", () => {
    const reaction = createContent({
      senderUri: "mimi://example.com/u/cathy-washington",
      roomUri: ROOM,
      salt: hex("d37bc0e6a8b4f04e9e6382375f587bf6"),
      inReplyTo: "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4",
      body: textPart("\u2764", Disposition.reaction),
    });
    expect(sealContent(reaction).id).toBe("0158c4288911e50a8f6be3f47746b6682f10fd91bc8c05557aa589a3157aff68");
  });

  it("encodes a text message as the README shows it", () => {
    const content = createTextContent({
      senderUri: "acct:alice@a.test",
      roomUri: "http://a.test/channels/abc",
      text: "hi",
      salt: Uint8Array.from({ length: 16 }, (_, i) => i),
    });
    const sealed = sealContent(content);
    expect(toHex(sealed.bytes)).toBe(
      "8750000102030405060708090a0b0c0d0e0ff640f6f6a20171616363743a616c69636540612e7465737402781a687474703a2f2f612e746573742f6368616e6e656c732f616263850160017818746578742f706c61696e3b636861727365743d7574662d38426869",
    );
    expect(sealed.id).toBe("0104f5f59be2edb3034800f3788e4b12611ae94718cfb23b034770897b32cbbd");
  });

  it("gives every message a fresh 16-byte salt and the id the draft defines", () => {
    const input = { senderUri: "acct:alice@a.test", roomUri: "http://a.test/channels/abc", text: "héllo 👋" };
    const first = createTextContent(input);
    const second = createTextContent(input);
    expect(first.salt).toHaveLength(16);
    expect(toHex(first.salt)).not.toBe(toHex(second.salt));
    const sealed = sealContent(first);
    expect(sealed.id).toBe(independentId(input.senderUri, input.roomUri, sealed.bytes, first.salt));
    expect(sealContent(second).id).not.toBe(sealed.id);
    // The id binds the sender and the room, not only the bytes.
    expect(messageIdOf("acct:mallory@evil.test", input.roomUri, sealed.bytes, first.salt)).not.toBe(
      sealed.id,
    );
    expect(messageIdOf(input.senderUri, "http://a.test/channels/other", sealed.bytes, first.salt)).not.toBe(
      sealed.id,
    );
  });

  it("round-trips text, replies, edits, deletions and reactions through the decoder", () => {
    const target = "01".padEnd(64, "ab");
    const contents: MimiContent[] = [
      createTextContent({ senderUri: "acct:a@a.test", roomUri: "http://a.test/channels/x", text: "hi" }),
      createTextContent({
        senderUri: "acct:a@a.test",
        roomUri: "http://a.test/channels/x",
        text: "re",
        inReplyTo: target,
      }),
      createContent({
        senderUri: "acct:a@a.test",
        roomUri: "http://a.test/channels/x",
        body: textPart("fixed"),
        replaces: target,
      }),
      createContent({
        senderUri: "acct:a@a.test",
        roomUri: "http://a.test/channels/x",
        body: nullPart(),
        replaces: target,
      }),
      createContent({
        senderUri: "acct:a@a.test",
        roomUri: "http://a.test/channels/x",
        body: textPart("👍", Disposition.reaction),
        inReplyTo: target,
      }),
    ];
    for (const content of contents)
      expect(parseContent(encodeContent(content))).toEqual({ ok: true, content });
    const text = contents[0];
    expect(text?.body).toMatchObject({ cardinality: "single", contentType: TEXT_PLAIN });
  });
});

/** The fields of a valid text message, to be spoiled one at a time. */
function fields(): unknown[] {
  return [
    new Uint8Array(16),
    null,
    new Uint8Array(0),
    null,
    null,
    new Map<number | string, unknown>([
      [1, "acct:a@a.test"],
      [2, "http://a.test/channels/x"],
    ]),
    [1, "", 1, TEXT_PLAIN, utf8("hi")],
  ];
}

function spoiled(index: number, value: unknown): Uint8Array {
  const all = fields();
  all[index] = value;
  return encode(all);
}

const detailOf = (bytes: Uint8Array) => {
  const parsed = parseContent(bytes);
  return parsed.ok ? "accepted" : parsed.detail;
};

const nested = (depth: number, inner: unknown): unknown => (depth === 0 ? inner : [nested(depth - 1, inner)]);

describe("MIMI content decoding is strict", () => {
  it("accepts the valid fields the refusals below start from", () => {
    expect(parseContent(encode(fields())).ok).toBe(true);
  });

  it("refuses bytes that are not one whole CBOR item", () => {
    const valid = encode(fields());
    expect(detailOf(valid.subarray(0, valid.length - 1))).toMatch(/^bad MIMI content: not CBOR/);
    expect(detailOf(Uint8Array.from([...valid, 0x00]))).toMatch(/^bad MIMI content: not CBOR/);
    expect(detailOf(Uint8Array.of(0x87, 0xff))).toMatch(/^bad MIMI content: not CBOR/);
  });

  it("refuses content larger than the limit before decoding it", () => {
    const big = encode([
      ...fields().slice(0, 6),
      [1, "", 1, TEXT_PLAIN, new Uint8Array(MAX_MIMI_CONTENT_BYTES)],
    ]);
    expect(detailOf(big)).toBe(`content larger than ${MAX_MIMI_CONTENT_BYTES} bytes`);
  });

  it("refuses wrong types and sizes in every field", () => {
    expect(detailOf(encode(fields().slice(0, 6)))).toBe(
      "bad MIMI content: MIMI content must be an array of 7 items",
    );
    expect(detailOf(spoiled(0, new Uint8Array(15)))).toBe("bad MIMI content: salt must be 16 bytes");
    expect(detailOf(spoiled(1, new Uint8Array(31)))).toBe("bad MIMI content: replaces must be 32 bytes");
    expect(detailOf(spoiled(2, "topic"))).toBe("bad MIMI content: topicId must be a byte string");
    expect(detailOf(spoiled(3, [1, 5]))).toBe("bad MIMI content: expires.relative must be a boolean");
    expect(detailOf(spoiled(4, "earlier"))).toBe("bad MIMI content: inReplyTo must be a byte string");
    expect(detailOf(spoiled(5, new Map([[1, 7]])))).toBe("bad MIMI content: senderUri must be a text string");
    expect(detailOf(spoiled(5, [1, "x"]))).toBe("bad MIMI content: mimiExtensions must be a map");
    expect(detailOf(spoiled(5, new Map([[new Uint8Array(1), 1]])))).toBe(
      "bad MIMI content: an extension key must be an integer or a text string",
    );
    expect(detailOf(spoiled(6, [256, "", 0]))).toBe(
      "bad MIMI content: disposition must be an unsigned integer up to 255",
    );
    expect(detailOf(spoiled(6, [1, "", 4]))).toBe("bad MIMI content: unknown cardinality");
    expect(detailOf(spoiled(6, [1, "", 1, TEXT_PLAIN, "hi"]))).toBe(
      "bad MIMI content: content must be a byte string",
    );
    expect(detailOf(spoiled(6, [1, "", 3, 0, [[1, "", 0]]]))).toBe(
      "bad MIMI content: a multipart must have at least 2 parts",
    );
    expect(
      detailOf(
        spoiled(6, [
          1,
          "",
          3,
          3,
          [
            [1, "", 0],
            [1, "", 0],
          ],
        ]),
      ),
    ).toBe("bad MIMI content: partSemantics must be an unsigned integer up to 2");
  });

  it("refuses encodings the draft's deterministic CBOR rules out", () => {
    const valid = toHex(encode(fields()));
    // The body's disposition 1 in two bytes (0x18 0x01) instead of one.
    expect(detailOf(hex(valid.replace("850160", "85180160")))).toMatch(/^bad MIMI content: not CBOR/);
    // The body as an indefinite-length array.
    expect(detailOf(hex(valid.replace(/85(0160.*)$/, "9f$1ff")))).toMatch(/^bad MIMI content: not CBOR/);
    // A tag around the salt.
    expect(detailOf(hex(valid.replace(/^8750/, "87d84050")))).toMatch(/^bad MIMI content: not CBOR/);
    // The same extension key twice: the room's key 2 turned into a second 1.
    expect(valid).toContain("027818");
    expect(detailOf(hex(valid.replace("027818", "017818")))).toMatch(
      /^bad MIMI content: not CBOR.*repeat map key/,
    );
    // A text string that is not UTF-8.
    expect(detailOf(spoiledText(valid))).toBe("bad MIMI content: a text string is not UTF-8");
  });

  it("refuses structures nested too deeply, however deep, without descending into them", () => {
    const extension = (depth: number) => spoiled(5, new Map<number, unknown>([[99, nested(depth, 0)]]));
    // The content's array, the extensions' map and 14 arrays: 16 levels.
    expect(parseContent(extension(14)).ok).toBe(true);
    expect(detailOf(extension(15))).toBe("bad MIMI content: nested deeper than 16 arrays and maps");
    // 60,000 levels would overflow a recursive decoder's stack; the bound stops it first.
    const deep = Uint8Array.from([0x87, ...new Uint8Array(60_000).fill(0x81)]);
    expect(detailOf(deep)).toBe("bad MIMI content: nested deeper than 16 arrays and maps");
  });

  it("refuses bodies beyond the draft's limits: 4 levels of parts, 1024 parts", () => {
    const text = [1, "", 1, TEXT_PLAIN, utf8("x")];
    const multi = (parts: unknown[]) => [1, "", 3, 2, parts];
    expect(parseContent(spoiled(6, multi([multi([multi([text, text]), text]), text]))).ok).toBe(true);
    expect(detailOf(spoiled(6, multi([multi([multi([multi([text, text]), text]), text]), text])))).toBe(
      "bad MIMI content: body parts nested deeper than 4 levels",
    );
    const wide = multi(Array.from({ length: 32 }, () => multi(Array.from({ length: 32 }, () => text))));
    expect(detailOf(spoiled(6, wide))).toBe("bad MIMI content: more than 1024 body parts");
  });
});

/** `valid` with the sender URI's first character replaced by a byte that UTF-8 never uses. */
function spoiledText(valid: string): Uint8Array {
  const sender = toHex(utf8("acct:a@a.test"));
  return hex(valid.replace(sender, `ff${sender.slice(2)}`));
}

describe("building content", () => {
  it("refuses references that are not message ids", () => {
    const body: NestedPart = textPart("x");
    expect(() =>
      createContent({ senderUri: "acct:a@a.test", roomUri: "r", body, inReplyTo: "earlier" }),
    ).toThrow("not a message id: earlier");
  });
});

describe("SseParser", () => {
  it("assembles events across chunks and skips comments", () => {
    const parser = new SseParser();
    expect(parser.push("retry: 3000\n\n: keep-alive\n\nid: 7\nevent: activ")).toEqual([]);
    expect(parser.push('ity\ndata: {"a":\ndata: 1}\n\nid: 8\r\ndata: x\r\n\r\n')).toEqual([
      { id: "7", event: "activity", data: '{"a":\n1}' },
      { id: "8", event: "message", data: "x" },
    ]);
  });
});
