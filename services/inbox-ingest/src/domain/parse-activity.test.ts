import { describe, expect, it } from "vitest";
import { parseActivityBody } from "./parse-activity.js";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("parseActivityBody", () => {
  it("accepts an activity with id, type and actor", () => {
    const parsed = parseActivityBody(
      bytes(
        JSON.stringify({ id: "https://a.example/1", type: "Create", actor: "https://a.example/u", extra: 1 }),
      ),
    );
    expect(parsed).toMatchObject({ ok: true, activity: { id: "https://a.example/1", extra: 1 } });
  });

  it("rejects what is not JSON, not UTF-8 or not an object", () => {
    expect(parseActivityBody(bytes("{nope"))).toMatchObject({ ok: false, reason: "malformedJson" });
    expect(parseActivityBody(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({
      ok: false,
      reason: "malformedJson",
    });
    expect(parseActivityBody(new Uint8Array())).toMatchObject({ ok: false, reason: "malformedJson" });
    expect(parseActivityBody(bytes("[1]"))).toMatchObject({ ok: false, reason: "invalidEnvelope" });
    expect(parseActivityBody(bytes("null"))).toMatchObject({ ok: false, reason: "invalidEnvelope" });
  });

  it("names the missing or malformed envelope field", () => {
    for (const [activity, field] of [
      [{ type: "Create", actor: "https://a.example/u" }, "id"],
      [{ id: "https://a.example/1", actor: "https://a.example/u" }, "type"],
      [{ id: "https://a.example/1", type: "Create" }, "actor"],
      [{ id: "not a url", type: "Create", actor: "https://a.example/u" }, "id"],
    ] as const) {
      const parsed = parseActivityBody(bytes(JSON.stringify(activity)));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.detail.startsWith(field)).toBe(true);
    }
  });
});
