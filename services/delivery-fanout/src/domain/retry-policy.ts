/**
 * What one delivery attempt's result means, and when (or whether) to try again. Pure: the clock and
 * the random source are parameters so tests can pin them.
 *
 * Classification follows Mastodon's DeliveryWorker: 2xx is delivered; 4xx other than 401, 408 and 429
 * is "unsalvageable" (the receiver understood and refused; retrying cannot help); everything else —
 * 5xx, 401 (the receiver may not have fetched our key yet), 408, 429, network errors and timeouts — is
 * transient.
 */

/** The outcome of one POST as seen by the policy (no I/O types). */
export type AttemptResult =
  | { kind: "response"; status: number; retryAfter?: string | undefined }
  | { kind: "networkError"; reason: string; detail: string };

export type AttemptClassification =
  | { kind: "delivered"; status: number }
  | { kind: "permanent"; reason: string }
  | { kind: "transient"; reason: string; retryAfterMs?: number };

export interface RetryPolicySettings {
  /** Delay before the second attempt; doubles for each later one. */
  baseDelayMs: number;
  /** No single wait is longer than this. */
  maxDelayMs: number;
  /** No attempt starts later than this after the first one. */
  lifetimeMs: number;
  /** Attempts in all, including the first. */
  maxAttempts: number;
}

/**
 * Mastodon retries a delivery for roughly two to three days; these defaults land in that range. The
 * first retries come within seconds: a failed delivery holds every later one of its signer to that
 * destination, so a short outage must not cost minutes.
 */
export const DEFAULT_RETRY_POLICY_SETTINGS: RetryPolicySettings = {
  baseDelayMs: 1_000,
  maxDelayMs: 6 * 60 * 60_000,
  lifetimeMs: 3 * 24 * 60 * 60_000,
  maxAttempts: 25,
};

export function classifyAttempt(result: AttemptResult, nowMs: number): AttemptClassification {
  if (result.kind === "networkError")
    return { kind: "transient", reason: `${result.reason}: ${result.detail}` };
  const { status } = result;
  if (status >= 200 && status <= 299) return { kind: "delivered", status };
  if (status === 401 || status === 408 || status === 429) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, nowMs);
    return retryAfterMs === undefined
      ? { kind: "transient", reason: `HTTP ${status}` }
      : { kind: "transient", reason: `HTTP ${status}`, retryAfterMs };
  }
  if (status >= 400 && status <= 499) return { kind: "permanent", reason: `HTTP ${status}` };
  if (status >= 500) {
    const retryAfterMs = status === 503 ? parseRetryAfter(result.retryAfter, nowMs) : undefined;
    return retryAfterMs === undefined
      ? { kind: "transient", reason: `HTTP ${status}` }
      : { kind: "transient", reason: `HTTP ${status}`, retryAfterMs };
  }
  // 1xx/3xx at the end of the exchange (redirects are followed by the HTTP client): nothing was accepted.
  return { kind: "transient", reason: `unexpected HTTP ${status}` };
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so retries of many
 * jobs that failed together spread out instead of returning as one wave.
 */
export function backoffDelayMs(
  failedAttempt: number,
  settings: RetryPolicySettings,
  random: () => number,
): number {
  const exponent = Math.min(Math.max(failedAttempt - 1, 0), 40);
  const step = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
}

export type RetryDecision =
  | { kind: "retryAt"; atMs: number; delayMs: number }
  | { kind: "giveUp"; reason: string };

/**
 * After a transient failure of attempt `failedAttempt`: when to try again, or give up because the
 * attempt budget or the job's lifetime is spent. A sensible `Retry-After` (at most the maximum delay)
 * is honoured when it asks for more patience than the backoff; a larger one is capped.
 */
export function planRetry(input: {
  failedAttempt: number;
  firstAttemptAtMs: number;
  nowMs: number;
  retryAfterMs?: number | undefined;
  settings: RetryPolicySettings;
  random: () => number;
}): RetryDecision {
  const { failedAttempt, firstAttemptAtMs, nowMs, settings } = input;
  if (failedAttempt >= settings.maxAttempts) {
    return { kind: "giveUp", reason: `gave up after ${failedAttempt} attempts` };
  }
  let delayMs = backoffDelayMs(failedAttempt, settings, input.random);
  if (input.retryAfterMs !== undefined)
    delayMs = Math.max(delayMs, Math.min(input.retryAfterMs, settings.maxDelayMs));
  const atMs = nowMs + delayMs;
  if (atMs > firstAttemptAtMs + settings.lifetimeMs) {
    return {
      kind: "giveUp",
      reason: `gave up after ${failedAttempt} attempts: lifetime of ${settings.lifetimeMs} ms spent`,
    };
  }
  return { kind: "retryAt", atMs, delayMs };
}

/** Whether a job may still wait until `atMs` (used when the circuit breaker defers it). */
export function withinLifetime(
  firstAttemptAtMs: number,
  atMs: number,
  settings: RetryPolicySettings,
): boolean {
  return atMs <= firstAttemptAtMs + settings.lifetimeMs;
}
