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

/**
 * Paced and in order, as one client sends: operation i starts at `start + i / rate`, or when operation
 * i - 1 has finished if that is later; no operation starts after `durationMs`. Returns how many were
 * started and the rate actually offered, which falls below `rate` when the server answers more slowly
 * than the interval.
 */
export async function runPacedSequence(
  ratePerSec: number,
  count: number,
  durationMs: number,
  operation: (index: number) => Promise<void>,
): Promise<{ sent: number; offeredPerSecond: number; elapsedMs: number; errors: number }> {
  const intervalMs = 1000 / ratePerSec;
  const started = performance.now();
  let errors = 0;
  let sent = 0;
  for (let index = 0; index < count; index++) {
    const wait = started + index * intervalMs - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (performance.now() - started >= durationMs) break;
    sent += 1;
    try {
      await operation(index);
    } catch {
      errors += 1;
    }
  }
  const elapsedMs = performance.now() - started;
  return { sent, offeredPerSecond: ratePerSecond(sent, elapsedMs), elapsedMs, errors };
}
