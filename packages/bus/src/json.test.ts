import { describe, expect, it } from "vitest";
import { defineTopic, jsonValue, parseJsonValue } from "./json";

interface ChannelInboxItem {
  channel: string;
  activityId: string;
}

function parseChannelInboxItem(input: unknown): ChannelInboxItem {
  if (typeof input !== "object" || input === null) throw new Error("expected an object");
  const { channel, activityId } = input as Record<string, unknown>;
  if (typeof channel !== "string" || typeof activityId !== "string") {
    throw new Error("channel and activityId must be strings");
  }
  return { channel, activityId };
}

describe("json values", () => {
  it("round-trips a value", () => {
    expect(parseJsonValue({ value: jsonValue({ a: [1, "ü"] }) })).toEqual({
      ok: true,
      value: { a: [1, "ü"] },
    });
  });

  it("reports bad UTF-8 and bad JSON with a reason", () => {
    expect(parseJsonValue({ value: new Uint8Array([0xff]) })).toEqual({
      ok: false,
      reason: "record value is not valid UTF-8",
    });
    const result = parseJsonValue({ value: new TextEncoder().encode("{nope") });
    expect(result.ok).toBe(false);
  });
});

describe("defineTopic", () => {
  const channelInbox = defineTopic("channel.inbox", parseChannelInboxItem);

  it("builds keyed messages and parses them back", () => {
    const message = channelInbox.message(
      "c1",
      { channel: "c1", activityId: "https://a/1" },
      { traceparent: "t" },
    );
    expect(message.key).toBe("c1");
    expect(message.headers).toEqual({ traceparent: "t" });
    expect(channelInbox.parse(message)).toEqual({
      ok: true,
      value: { channel: "c1", activityId: "https://a/1" },
    });
  });

  it("turns schema failures into a reason naming the topic", () => {
    expect(channelInbox.parse({ value: jsonValue({ channel: 1 }) })).toEqual({
      ok: false,
      reason: "invalid channel.inbox payload: channel and activityId must be strings",
    });
  });
});
