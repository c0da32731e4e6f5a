import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  classifyAttempt,
  parseRetryAfter,
  planRetry,
  type RetryPolicySettings,
} from "./retry-policy.js";

const settings: RetryPolicySettings = {
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  lifetimeMs: 3_600_000,
  maxAttempts: 10,
};
const now = Date.parse("2025-03-01T12:00:00Z");

describe("classifyAttempt", () => {
  it("treats 2xx as delivered", () => {
    expect(classifyAttempt({ kind: "response", status: 202 }, now)).toEqual({
      kind: "delivered",
      status: 202,
    });
  });

  it.each([400, 403, 404, 410, 413, 422])("treats %i as permanent", (status) => {
    expect(classifyAttempt({ kind: "response", status }, now).kind).toBe("permanent");
  });

  it.each([401, 408, 429, 500, 502, 503, 504])("treats %i as transient", (status) => {
    expect(classifyAttempt({ kind: "response", status }, now).kind).toBe("transient");
  });

  it("treats network errors as transient", () => {
    expect(
      classifyAttempt({ kind: "networkError", reason: "connectError", detail: "ECONNREFUSED" }, now),
    ).toEqual({
      kind: "transient",
      reason: "connectError: ECONNREFUSED",
    });
  });

  it("reads Retry-After on 429 and 503 only", () => {
    expect(classifyAttempt({ kind: "response", status: 429, retryAfter: "30" }, now)).toMatchObject({
      retryAfterMs: 30_000,
    });
    expect(classifyAttempt({ kind: "response", status: 503, retryAfter: "5" }, now)).toMatchObject({
      retryAfterMs: 5_000,
    });
    expect(classifyAttempt({ kind: "response", status: 500, retryAfter: "5" }, now)).not.toHaveProperty(
      "retryAfterMs",
    );
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates, ignores junk", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Sat, 01 Mar 2025 12:01:00 GMT", now)).toBe(60_000);
    expect(parseRetryAfter("Sat, 01 Mar 2025 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("backoff", () => {
  it("doubles per attempt within [step/2, step] and stops at the cap", () => {
    expect(backoffDelayMs(1, settings, () => 0)).toBe(500);
    expect(backoffDelayMs(1, settings, () => 1)).toBe(1_000);
    expect(backoffDelayMs(3, settings, () => 0)).toBe(2_000);
    expect(backoffDelayMs(3, settings, () => 1)).toBe(4_000);
    expect(backoffDelayMs(30, settings, () => 1)).toBe(60_000);
    expect(backoffDelayMs(30, settings, () => 0)).toBe(30_000);
  });

  it("spreads jobs that failed together", () => {
    const values = [0.1, 0.5, 0.9].map((r) => backoffDelayMs(4, settings, () => r));
    expect(new Set(values).size).toBe(3);
  });
});

describe("planRetry", () => {
  const base = { firstAttemptAtMs: now, nowMs: now, settings, random: () => 1 };

  it("schedules the next attempt after the backoff", () => {
    expect(planRetry({ ...base, failedAttempt: 2 })).toEqual({
      kind: "retryAt",
      atMs: now + 2_000,
      delayMs: 2_000,
    });
  });

  it("honours a larger Retry-After, capped at the maximum delay", () => {
    expect(planRetry({ ...base, failedAttempt: 1, retryAfterMs: 30_000 })).toMatchObject({ delayMs: 30_000 });
    expect(planRetry({ ...base, failedAttempt: 1, retryAfterMs: 10 * 3_600_000 })).toMatchObject({
      delayMs: 60_000,
    });
    expect(planRetry({ ...base, failedAttempt: 1, retryAfterMs: 0 })).toMatchObject({ delayMs: 1_000 });
  });

  it("gives up when the attempts are spent", () => {
    expect(planRetry({ ...base, failedAttempt: 10 })).toMatchObject({ kind: "giveUp" });
  });

  it("gives up when the next attempt would start after the lifetime", () => {
    const late = { ...base, nowMs: now + settings.lifetimeMs - 30_000 };
    expect(planRetry({ ...late, failedAttempt: 9 })).toMatchObject({ kind: "giveUp" });
    expect(planRetry({ ...late, failedAttempt: 2 })).toMatchObject({ kind: "retryAt" });
  });

  it("with the defaults retries for about two to three days", async () => {
    const { DEFAULT_RETRY_POLICY_SETTINGS: defaults } = await import("./retry-policy.js");
    let t = now;
    let attempt = 1;
    for (;;) {
      const decision = planRetry({
        failedAttempt: attempt,
        firstAttemptAtMs: now,
        nowMs: t,
        settings: defaults,
        random: () => 0.5,
      });
      if (decision.kind === "giveUp") break;
      t = decision.atMs;
      attempt++;
    }
    const days = (t - now) / 86_400_000;
    expect(days).toBeGreaterThan(1.5);
    expect(days).toBeLessThanOrEqual(3);
  });
});
