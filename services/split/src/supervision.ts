/**
 * When a supervised service process is started again after it exited unexpectedly: what a cluster's
 * kubelet does for a crashed container (CrashLoopBackOff), in pure functions the deployment applies.
 */
export interface RestartPolicy {
  /** Wait before the first restart of a run of failures. */
  initialDelayMs: number;
  /** Each further restart waits twice as long, at most this. */
  maxDelayMs: number;
  /** A process that stayed up this long counts as healthy: its next restart is attempt 1 again. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  resetAfterMs: 30_000,
};

/** The delay before restart `attempt` (1-based): initial · 2^(attempt-1), capped at the maximum. */
export function restartDelayMs(attempt: number, policy: RestartPolicy): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent);
}

/**
 * The attempt number of the restart that follows an exit: one more than the previous attempt, or 1
 * when the process had been up for `resetAfterMs` (or had never been restarted).
 */
export function nextRestartAttempt(previousAttempt: number, upForMs: number, policy: RestartPolicy): number {
  if (previousAttempt <= 0 || upForMs >= policy.resetAfterMs) return 1;
  return previousAttempt + 1;
}

/** How a process ended, as a restart log shows it: `exit code 1` or `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal}`;
  return `exit code ${code ?? "unknown"}`;
}

/** One restart the supervisor scheduled. */
export interface RestartRecord {
  domain: string;
  service: string;
  replica: number;
  /** `exit code 1` or `signal SIGKILL`. */
  exit: string;
  /** 1 for the first restart after a healthy run, counting up while the process keeps failing. */
  attempt: number;
  /** How long the supervisor waited before starting it again. */
  delayMs: number;
  /** When the process exited (ms since the epoch). */
  exitedAt: number;
}

/** The line a restart is logged with. */
export function restartLine(record: RestartRecord): string {
  return (
    `[split] ${record.domain} ${record.service}-${record.replica} exited (${record.exit}); ` +
    `restart attempt ${record.attempt} in ${record.delayMs} ms`
  );
}
