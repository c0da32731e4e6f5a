import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** Helpers for running service processes on one machine (the split deployment, the chart's processes). */

/**
 * Ports handed to service processes come from above the machine's ephemeral range (Linux: 32768-60999
 * by default) and above 61999, which the fault suite's backing services use. A port picked inside the
 * ephemeral range can be taken, before its service listens, as the local port of one of the many
 * outgoing connections (PostgreSQL, Kafka) the deployment opens meanwhile; the service then fails
 * with EADDRINUSE at every restart.
 */
const LOWEST_SERVICE_PORT = 62000;
const HIGHEST_PORT = 65535;

/** Ports this process handed out: never the same one twice, even once it is free again. */
const handedOut = new Set<number>();

function ephemeralRangeTop(): number {
  try {
    const [, top] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const parsed = Number(top);
    return Number.isInteger(parsed) ? parsed : 60999;
  } catch {
    return 60999;
  }
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  // Services listen on every address: a port bound on any of them is not free for them.
  const listening = await new Promise<boolean>((done) => {
    server.once("error", () => done(false));
    server.listen(port, "0.0.0.0", () => done(true));
  });
  if (listening) await new Promise<void>((done) => server.close(() => done()));
  return listening;
}

/** Any port the kernel gives, not handed out before (where no range above the ephemeral one is left). */
async function kernelPort(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "0.0.0.0", done));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((done) => server.close(() => done()));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A port that was free a moment ago on every address, outside the ephemeral range where it can be. */
export async function freePort(): Promise<number> {
  const lowest = Math.max(LOWEST_SERVICE_PORT, ephemeralRangeTop() + 1);
  for (let attempt = 0; lowest <= HIGHEST_PORT && attempt < 500; attempt++) {
    const port = lowest + Math.floor(Math.random() * (HIGHEST_PORT - lowest + 1));
    if (handedOut.has(port)) continue;
    // Reserved before the check, so that concurrent calls never pick the same port.
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  return kernelPort();
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
