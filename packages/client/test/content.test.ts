import { describe, expect, it } from "vitest";
import { createTextContent, encodeContent, parseContent } from "../src/content.js";
import { SseParser } from "../src/sse.js";

describe("MIMI content", () => {
  it("round-trips a text message with the draft's field names", () => {
    const content = createTextContent({
      senderUri: "acct:alice@a.test",
      roomUri: "http://a.test/channels/abc",
      text: "héllo 👋",
      inReplyTo: "earlier",
      timestamp: 1_700_000_000_000,
    });
    expect(content).toMatchObject({
      mimiContent: 1,
      senderUri: "acct:alice@a.test",
      roomUri: "http://a.test/channels/abc",
      timestamp: 1_700_000_000_000,
      inReplyTo: "earlier",
      disposition: "render",
      contentType: "text/plain;charset=utf-8",
      content: "héllo 👋",
    });
    expect(Buffer.from(content.salt, "base64url")).toHaveLength(16);
    const parsed = parseContent(encodeContent(content));
    expect(parsed).toEqual({ ok: true, content });
  });

  it("gives equal texts different ids and refuses tampered or malformed content", () => {
    const input = { senderUri: "acct:a@a.test", roomUri: "http://a.test/channels/x", text: "same" };
    const first = createTextContent(input);
    expect(createTextContent(input).id).not.toBe(first.id);
    const forged = { ...first, senderUri: "acct:mallory@a.test" };
    expect(parseContent(encodeContent(forged))).toEqual({
      ok: false,
      detail: "the message id does not match its content",
    });
    expect(parseContent(new TextEncoder().encode("[]")).ok).toBe(false);
    expect(parseContent(new Uint8Array([0xff, 0xfe])).ok).toBe(false);
    expect(parseContent(encodeContent({ ...first, timestamp: -1 })).ok).toBe(false);
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
