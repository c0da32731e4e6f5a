import { describe, expect, it } from "vitest";
import { type RawBody, readActivity } from "./read-activity.js";

const read = (text: string): RawBody => ({ ok: true, bytes: Buffer.from(text) });
const LIMITS = { maxAddresses: 3, maxRecipients: 10, maxCopyBytes: 1_000_000 };
const activity = {
  id: "https://a.example/activities/1",
  type: "Create",
  actor: "https://a.example/users/carol",
};

describe("the read step", () => {
  it("lets an activity through with the bytes it was read from", () => {
    const text = JSON.stringify(activity);
    const result = readActivity(read(text), LIMITS);
    expect(result).toMatchObject({ kind: "continue", value: { activity } });
    if (result.kind === "continue") expect(Buffer.from(result.value.body).toString()).toBe(text);
  });

  it("refuses a body the capture did not take, with the capture's reason and status", () => {
    const cases: Array<[RawBody & { ok: false }, number]> = [
      [{ ok: false, reason: "unsupportedMediaType", detail: "got text/plain" }, 415],
      [{ ok: false, reason: "unsupportedContentEncoding", detail: "gzip" }, 415],
      [{ ok: false, reason: "bodyTooLarge", detail: "over 1024 bytes" }, 413],
      [{ ok: false, reason: "unreadableBody", detail: "cut short" }, 400],
    ];
    for (const [body, status] of cases) {
      const result = readActivity(body, LIMITS);
      expect(result, body.reason).toMatchObject({
        kind: "refused",
        reason: body.reason,
        problem: { status, detail: body.detail, extra: { reason: body.reason } },
      });
    }
  });

  it("refuses what is not JSON, and an envelope without its fields (naming the issues)", () => {
    expect(readActivity(read("{nope"), LIMITS)).toMatchObject({
      kind: "refused",
      problem: { status: 400, extra: { reason: "malformedJson" } },
    });
    const { actor: _actor, ...withoutActor } = activity;
    const refused = readActivity(read(JSON.stringify(withoutActor)), LIMITS);
    expect(refused).toMatchObject({
      kind: "refused",
      problem: { status: 400, extra: { reason: "invalidEnvelope", issues: [{ path: "actor" }] } },
    });
  });

  it("refuses an activity naming more addresses than the limit, bto and bcc counted", () => {
    const many = { ...activity, to: ["https://b.example/users/a"], bcc: ["https://b.example/users/b"] };
    expect(readActivity(read(JSON.stringify(many)), LIMITS).kind).toBe("continue");
    const tooMany = { ...many, bto: ["https://b.example/users/c", "https://b.example/users/d"] };
    expect(readActivity(read(JSON.stringify(tooMany)), LIMITS)).toMatchObject({
      kind: "refused",
      reason: "tooManyAddresses",
    });
  });
});
