import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** Helpers for running service processes on one machine (the split deployment, the chart's processes). */

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

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
