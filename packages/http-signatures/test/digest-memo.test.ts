import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { contentDigestHeaderFor, digestHeaderFor } from "../src/index.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");

describe("body digests", () => {
  it("hash a string body as its UTF-8 bytes, the same as the bytes themselves", () => {
    const text = '{"content":"grüße, 👋"}';
    const bytes = new TextEncoder().encode(text);
    expect(digestHeaderFor(text)).toBe(`SHA-256=${sha256(bytes)}`);
    expect(digestHeaderFor(bytes)).toBe(`SHA-256=${sha256(bytes)}`);
    expect(contentDigestHeaderFor(text)).toBe(`sha-256=:${sha256(bytes)}:`);
  });

  it("give each body its own digest when bodies alternate (the last one is remembered, not reused)", () => {
    const one = JSON.stringify({ id: 1 });
    const two = JSON.stringify({ id: 2 });
    const expected = (text: string) => `sha-256=:${sha256(new TextEncoder().encode(text))}:`;
    for (const body of [one, one, two, one, two, two, `${"{"}"id":1}`]) {
      expect(contentDigestHeaderFor(body)).toBe(expected(body));
    }
  });

  it("hash a byte body anew each time, even when it was changed in place", () => {
    const bytes = new TextEncoder().encode("aaaa");
    const before = digestHeaderFor(bytes);
    bytes[0] = 0x62;
    expect(digestHeaderFor(bytes)).not.toBe(before);
    expect(digestHeaderFor(bytes)).toBe(`SHA-256=${sha256(bytes)}`);
  });
});
