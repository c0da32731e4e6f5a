import { Agent, request } from "node:http";
import { type LatencySummary, ratePerSecond, summarizeLatencies } from "./stats.js";

/** One HTTP request of a load run, prepared before the timed loop. */
export interface PreparedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

export interface LoadResult {
  completed: number;
  failed: number;
  /** Answers outside 2xx, by status. */
  statuses: Record<number, number>;
  elapsedMs: number;
  perSecond: number;
  latencyMs: LatencySummary;
}

/** A keep-alive client for one local server with at most `connections` sockets. */
export function createHttpClient(port: number, connections: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const send = (prepared: PreparedRequest): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: "127.0.0.1",
          port,
          method: prepared.method,
          path: prepared.path,
          headers: prepared.body
            ? { ...prepared.headers, "content-length": String(prepared.body.length) }
            : prepared.headers,
          agent,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("end", () =>
            resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
          incoming.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end(prepared.body);
    });
  return { send, close: () => agent.destroy() };
}

/**
 * Closed loop: `concurrency` workers take the next of `total` operations as soon as their previous one
 * finished. `operation` returns whether it succeeded.
 */
export async function runClosedLoop(
  total: number,
  concurrency: number,
  operation: (index: number) => Promise<boolean>,
): Promise<Omit<LoadResult, "statuses">> {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= total) return;
      const begun = performance.now();
      let ok = false;
      try {
        ok = await operation(index);
      } catch {
        ok = false;
      }
      if (ok) latencies.push(performance.now() - begun);
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  return {
    completed: latencies.length,
    failed,
    elapsedMs,
    perSecond: ratePerSecond(latencies.length, elapsedMs),
    latencyMs: summarizeLatencies(latencies),
  };
}

/** Sends prepared requests through a closed loop of `connections`; 2xx answers count as completed. */
export async function runHttpLoad(
  port: number,
  connections: number,
  requests: readonly PreparedRequest[],
): Promise<LoadResult> {
  const client = createHttpClient(port, connections);
  const statuses: Record<number, number> = {};
  try {
    const result = await runClosedLoop(requests.length, connections, async (index) => {
      const prepared = requests[index];
      if (!prepared) return false;
      const answer = await client.send(prepared);
      if (answer.status >= 200 && answer.status < 300) return true;
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      return false;
    });
    return { ...result, statuses };
  } finally {
    client.close();
  }
}

export interface PacedRunResult {
  /** Operations started within the duration. */
  sent: number;
  /** The rate operations were actually started at (the true offered load). */
  offeredPerSecond: number;
  elapsedMs: number;
  errors: number;
  /** Operations that started more than one interval after their slot, waiting for an earlier one. */
  lateStarts: number;
  /** How long each operation took (e.g. one POST answered), to tell a slow server from a slow sender. */
  operationMs: LatencySummary;
}

/**
 * An open loop paced at `ratePerSec`, started in order: operation i starts at `start + i / rate`, or,
 * when operation i - `window` has not finished yet, as soon as it has. So at most `window` operations
 * are pending and none overtakes one started `window` or more places before it (what a receiver that
 * tolerates a bounded reordering needs). No operation starts after `durationMs`. With `window` 1 each
 * operation waits for the previous one (a strictly serial client), and the offered rate falls below
 * `ratePerSec` as soon as one operation takes longer than the interval.
 */
export async function runPacedSequence(
  ratePerSec: number,
  count: number,
  durationMs: number,
  operation: (index: number) => Promise<void>,
  window = 1,
): Promise<PacedRunResult> {
  const intervalMs = 1000 / ratePerSec;
  const started = performance.now();
  const running: Promise<void>[] = [];
  const durations: number[] = [];
  let errors = 0;
  let sent = 0;
  let lateStarts = 0;
  for (let index = 0; index < count; index++) {
    const slot = started + index * intervalMs;
    const wait = slot - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const blocker = running[index - window];
    if (blocker) await blocker;
    const begun = performance.now();
    if (begun - started >= durationMs) break;
    if (begun - slot > intervalMs) lateStarts += 1;
    sent += 1;
    running.push(
      operation(index).then(
        () => {
          durations.push(performance.now() - begun);
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  // The rate is over the sending window: from the first slot to the last start.
  const sendingMs = performance.now() - started;
  await Promise.all(running);
  return {
    sent,
    offeredPerSecond: ratePerSecond(sent, Math.max(sendingMs, (sent * 1000) / ratePerSec)),
    elapsedMs: performance.now() - started,
    errors,
    lateStarts,
    operationMs: summarizeLatencies(durations),
  };
}
