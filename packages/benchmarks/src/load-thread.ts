/**
 * The closed-loop HTTP load of `runHttpLoad`, run on a worker thread: the load generator then does not
 * share the event loop of a server under test in the same process (it still shares the machine's
 * cores). The worker sends the prepared requests and keeps the bodies of the 2xx answers, which come
 * back after the timed loop, so the main thread does nothing but serve while it runs.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { createHttpClient, type LoadResult, type PreparedRequest, runClosedLoop } from "./load.js";

export interface ThreadLoadResult extends LoadResult {
  /** Bodies of the 2xx answers, in completion order. */
  bodies: Buffer[];
}

interface LoadJob {
  port: number;
  connections: number;
  requests: PreparedRequest[];
}

/** Runs `runHttpLoad`'s loop on a worker thread and resolves with its result and the 2xx bodies. */
export function runHttpLoadOnThread(
  port: number,
  connections: number,
  requests: readonly PreparedRequest[],
): Promise<ThreadLoadResult> {
  const job: LoadJob = { port, connections, requests: [...requests] };
  // The worker loads this module again; loader hooks registered with `--import` do not reach worker
  // threads on every Node version, so it registers tsx's first (this is TypeScript run from source).
  const source = `
    const { workerData } = require("node:worker_threads");
    import(workerData.tsxApi)
      .then((tsx) => tsx.register())
      .then(() => import(workerData.module));`;
  const worker = new Worker(source, {
    eval: true,
    workerData: { ...job, tsxApi: import.meta.resolve("tsx/esm/api"), module: import.meta.url },
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (result: ThreadLoadResult) => {
      resolve({ ...result, bodies: result.bodies.map((body) => Buffer.from(body)) });
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load thread exited with code ${code}`));
    });
  });
}

async function runJob(job: LoadJob): Promise<ThreadLoadResult> {
  const client = createHttpClient(job.port, job.connections);
  const statuses: Record<number, number> = {};
  const bodies: Buffer[] = [];
  try {
    const result = await runClosedLoop(job.requests.length, job.connections, async (index) => {
      const prepared = job.requests[index];
      if (!prepared) return false;
      const answer = await client.send({
        ...prepared,
        ...(prepared.body ? { body: Buffer.from(prepared.body) } : {}),
      });
      if (answer.status >= 200 && answer.status < 300) {
        bodies.push(answer.body);
        return true;
      }
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      return false;
    });
    return { ...result, statuses, bodies };
  } finally {
    client.close();
  }
}

if (
  !isMainThread &&
  parentPort &&
  workerData !== null &&
  typeof workerData === "object" &&
  "requests" in workerData
) {
  const port = parentPort;
  void runJob(workerData as LoadJob).then((result) => port.postMessage(result));
}
