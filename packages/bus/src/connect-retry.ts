/**
 * Connecting to the brokers at start, until a deadline. A broker whose name resolves slowly (a pod's
 * search domains, an unreachable resolver) or that starts after the service made the first attempts
 * fail for a while; ending the process then only makes the orchestrator restart it later, so the
 * service keeps trying (logged) and fails only once the deadline has passed.
 */
export interface ConnectRetryPolicy {
  /** Give up, throwing the last error, once this much time has passed since the first attempt. */
  deadlineMs: number;
  /** Delay after the first failure, doubled after each further one (default 500 ms). */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 10 s). */
  maxDelayMs?: number;
}

export interface ConnectRetryHooks {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told about each failed attempt that will be retried. */
  onRetry?: (failure: { attempt: number; error: unknown; retryInMs: number }) => void;
}

/** The delay after failed attempt `attempt` (1-based), before the deadline is considered. */
export function connectRetryDelayMs(policy: ConnectRetryPolicy, attempt: number): number {
  const initial = policy.initialDelayMs ?? 500;
  const max = policy.maxDelayMs ?? 10_000;
  return Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
}

/** Runs `connect` until it succeeds or the deadline has passed; the last attempt ends at the deadline. */
export async function connectWithRetry<T>(
  connect: () => Promise<T>,
  policy: ConnectRetryPolicy,
  hooks: ConnectRetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + policy.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      const left = deadline - now();
      if (left <= 0) throw error;
      const retryInMs = Math.min(left, connectRetryDelayMs(policy, attempt));
      hooks.onRetry?.({ attempt, error, retryInMs });
      await sleep(retryInMs);
    }
  }
}
