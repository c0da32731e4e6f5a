import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

/** Helpers for running service processes on one machine (the split deployment, the chart's processes). */

/** A free port for a service process: above the ephemeral range where it can be, never twice. */
export { freePort } from "@mimi/testkit/net";

/** The last lines of a process log, for error messages. */
export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

export interface StartingProcess {
  child: ChildProcess;
  port: number;
  log: string;
  /** Names the process in errors, e.g. `a.test inbox-ingest`. */
  label: string;
}

/** Waits until the process answers `/readyz` with 200; fails with its log when it exits or times out. */
export async function waitReady(target: StartingProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { exitCode, signalCode } = target.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(
        `${target.label} exited (${exitCode ?? signalCode}) before it was ready:\n${logTail(target.log)}`,
      );
    }
    try {
      const res = await fetch(`http://127.0.0.1:${target.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${target.label} not ready within ${timeoutMs} ms:\n${logTail(target.log)}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}
