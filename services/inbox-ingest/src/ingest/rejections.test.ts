import { readFileSync } from "node:fs";
import { createMemoryRateLimiters, rateLimitedProblem } from "@mimi/rate-limits";
import { ProblemError, problems } from "@mimi/service-kit";
import { describe, expect, it } from "vitest";
import { type RefusalReason, reasonOf, refusal, refusalStatus } from "./rejections.js";

/** The `| 401 \`reason\` |` rows of docs/protocol.md section 9.1 (the inboxes' refusals). */
function protocolInboxRefusals(): Array<{ status: number; reason: string }> {
  const text = readFileSync(new URL("../../../../docs/protocol.md", import.meta.url), "utf8");
  const section = text.slice(text.indexOf("### 9.1 Inboxes"), text.indexOf("### 9.2"));
  return [...section.matchAll(/^\| (\d{3}) `(\w+)` *\|/gm)].map(([, status, reason]) => ({
    status: Number(status),
    reason: String(reason),
  }));
}

const SIGNATURE_REASONS = [
  "missingSignature",
  "malformedSignature",
  "unsupportedAlgorithm",
  "missingDigest",
  "digestMismatch",
  "dateMissing",
  "dateOutOfWindow",
  "requestTargetNotSigned",
  "keyFetchError",
  "invalidSignature",
] as const;

describe("refusals", () => {
  it("answer every inbox reason of docs/protocol.md with the status listed there", () => {
    const rows = protocolInboxRefusals();
    expect(rows.length).toBeGreaterThanOrEqual(28);
    const limiters = createMemoryRateLimiters();
    for (const { status, reason } of rows) {
      // The rate limiter answers before these steps run, with @mimi/rate-limits' own problem.
      const answered =
        reason === "rateLimited"
          ? rateLimitedProblem(limiters.limiter("inbox-origin", { points: 1, durationSeconds: 60 }), 1).status
          : refusalStatus(reason as RefusalReason);
      expect(answered, reason).toBe(status);
    }
  });

  it("answer the outbox's own reasons as the client API says", () => {
    const statuses: Array<[RefusalReason, number]> = [
      ["missingToken", 401],
      ["invalidToken", 401],
      ["sessionExpired", 401],
      ["wrongUser", 403],
      ["actorMismatch", 403],
      ["activityIdNotLocal", 400],
      ["unknownChannel", 404],
      ["newChannelWithoutId", 400],
      ["channelNotLocal", 400],
      ["noAudience", 400],
    ];
    for (const [reason, status] of statuses) expect(refusalStatus(reason), reason).toBe(status);
  });

  it("are service-kit problems with the reason beside the detail", () => {
    const problem = refusal("invalidEnvelope", "id: required", {
      issues: [{ path: "id", message: "required" }],
    });
    expect(problem).toBeInstanceOf(ProblemError);
    expect(problem).toMatchObject({
      status: 400,
      title: problems.badRequest("").title,
      detail: "id: required",
      extra: { reason: "invalidEnvelope", issues: [{ path: "id", message: "required" }] },
    });
    expect(refusal("bodyTooLarge", "x").title).toBe(problems.payloadTooLarge("").title);
    expect(refusal("busUnavailable", "x").title).toBe(problems.unavailable("").title);
  });

  it("challenge for a signature on signature failures only", () => {
    for (const reason of SIGNATURE_REASONS) {
      expect(refusal(reason, "x").headers["www-authenticate"], reason).toBe(
        'Signature headers="(request-target) host date digest content-type"',
      );
    }
    // The signature verified: the rule refused what it says, no new signature would help.
    for (const reason of ["keyOwnerMismatch", "notChannelMember", "channelMembershipUnknown"] as const) {
      expect(refusal(reason, "x").headers, reason).toEqual({});
    }
    expect(refusal("missingToken", "x").headers).toEqual({ "www-authenticate": 'Bearer realm="mimi"' });
    expect(refusal("invalidToken", "x").headers).toEqual({
      "www-authenticate": 'Bearer realm="mimi", error="invalid_token"',
    });
  });

  it("tell when to retry what may pass", () => {
    expect(refusal("membershipCheckFailed", "x").headers).toEqual({ "retry-after": "60" });
    expect(refusal("channelLookupFailed", "x").headers).toEqual({ "retry-after": "30" });
    expect(refusal("busUnavailable", "x").headers).toEqual({ "retry-after": "30" });
  });

  it("name their reason for the failure count; anything else is an internal error", () => {
    expect(reasonOf(refusal("notChannelMember", "x"))).toBe("notChannelMember");
    expect(reasonOf(new Error("boom"))).toBe("internalError");
  });
});
