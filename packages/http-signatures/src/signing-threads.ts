import type { KeyObject } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * Signatures handed to one thread before it has answered: about 30 ms of RSA-2048 work, so the
 * thread keeps signing while the event loop is busy elsewhere and only refills it now and then.
 */
export const MAX_QUEUED_PER_THREAD = 64;

/**
 * While every thread has at least this many jobs (a few milliseconds of work), new jobs are
 * gathered until the event loop's check phase and posted together: fewer, larger messages cost the
 * event loop less than one message per signature. Below it they are posted at the end of the tick.
 */
export const POST_SOON_BELOW = 8;

/**
 * The signing thread's program, plain CommonJS so that it needs no file of its own (services are
 * bundled into one file each). A batch carries keys the thread has not seen yet (by number), key
 * numbers to forget, and jobs: key number, digest algorithm and the signing string's bytes, packed
 * back to back in one transferred buffer. The thread signs a whole batch without returning to its
 * event loop and answers in order with base64 signatures (or `{ error }`), several per message.
 */
const SIGNING_THREAD_SOURCE = `"use strict";
const { parentPort } = require("node:worker_threads");
const { sign } = require("node:crypto");
const RESULTS_PER_MESSAGE = 8;
const keys = new Map();
parentPort.on("message", (batch) => {
  for (const [keyNumber, key] of batch.keys) keys.set(keyNumber, key);
  for (const keyNumber of batch.forget) keys.delete(keyNumber);
  const bytes = new Uint8Array(batch.bytes);
  let results = [];
  let start = 0;
  for (let i = 0; i < batch.keyNumbers.length; i++) {
    const end = batch.ends[i];
    const key = keys.get(batch.keyNumbers[i]);
    try {
      if (key === undefined) throw new Error("key " + batch.keyNumbers[i] + " was not sent to this thread");
      results.push(sign(batch.digests[i], bytes.subarray(start, end), key).toString("base64"));
    } catch (error) {
      results.push({ error: error instanceof Error ? error.message : String(error) });
    }
    start = end;
    if (results.length === RESULTS_PER_MESSAGE) {
      parentPort.postMessage(results);
      results = [];
    }
  }
  if (results.length > 0) parentPort.postMessage(results);
});
`;

/** What the main thread posts to a signing thread. */
interface SigningBatch {
  keys: Array<[number, KeyObject]>;
  forget: number[];
  keyNumbers: number[];
  digests: Array<string | null>;
  /** End offset in `bytes` of each job's signing string. */
  ends: number[];
  bytes: ArrayBuffer;
}

/** One answer of a signing thread: a base64 signature, or why the job failed. */
type SigningResult = string | { error: string };

interface SigningJob {
  readonly keyNumber: number;
  readonly key: KeyObject;
  readonly digest: string | null;
  readonly signingString: string;
  readonly resolve: (signatureBase64: string) => void;
  readonly reject: (error: Error) => void;
}

interface SigningThread {
  readonly worker: Worker;
  /** Key numbers this thread holds. */
  readonly sentKeys: Set<number>;
  /** Posted jobs, oldest first: the thread answers in this order. */
  readonly inFlight: SigningJob[];
  /** Jobs assigned to this thread, posted at the next flush. */
  outbox: SigningJob[];
  /** Key numbers to drop from this thread at the next flush. */
  forget: number[];
  stopped: boolean;
}

/** A first-in first-out queue with O(1) removal at the front. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/** Jobs assigned to a thread, posted or not: what "least loaded" compares. */
function loadOf(thread: SigningThread): number {
  return thread.inFlight.length + thread.outbox.length;
}

/**
 * Where the next job goes (pure): the least loaded thread, unless every thread has work and
 * another may be started (`"start"`), or every thread is full (`undefined`: the job waits).
 */
export function placeJob(
  loads: readonly number[],
  maxThreads: number,
  maxQueuedPerThread: number,
): number | "start" | undefined {
  let best = -1;
  for (let i = 0; i < loads.length; i++) {
    if (best === -1 || (loads[i] ?? 0) < (loads[best] ?? 0)) best = i;
  }
  const bestLoad = best === -1 ? Number.POSITIVE_INFINITY : (loads[best] ?? 0);
  if (bestLoad > 0 && loads.length < maxThreads) return "start";
  return bestLoad < maxQueuedPerThread ? best : undefined;
}

export interface SigningThreadPool {
  /** `crypto.sign(digest, signingString as UTF-8, key)` on a signing thread, base64-encoded. */
  sign(key: KeyObject, digest: string | null, signingString: string): Promise<string>;
  /** Stops the threads; pending and later signatures are rejected. */
  close(): Promise<void>;
  /** Terminates the running threads as if they had died (tests); the next signature starts new ones. */
  terminateThreads(): Promise<void>;
}

export interface SigningThreadPoolOptions {
  /** Threads at most, started as load needs them (default `defaultSigningThreads()`). */
  threads?: number;
  /** Jobs handed to one thread before it answers (default `MAX_QUEUED_PER_THREAD`). */
  maxQueuedPerThread?: number;
}

/**
 * One core is left to the event loop, which prepares requests and handles their responses; on a
 * machine with one or two cores that is a single signing thread.
 */
export function defaultSigningThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Signing threads that each work through their own queue back to back. Keys go to a thread once,
 * numbered; jobs queued in one tick go together in one message; each thread keeps up to
 * `maxQueuedPerThread` jobs so that it never waits for the event loop between signatures. A thread
 * is referenced (keeps the process alive) only while it has jobs, and a thread that dies rejects
 * its jobs and is replaced when there is work again.
 */
export function createSigningThreadPool(options: SigningThreadPoolOptions = {}): SigningThreadPool {
  const maxThreads = Math.max(1, Math.floor(options.threads ?? defaultSigningThreads()));
  const maxQueuedPerThread = Math.max(1, Math.floor(options.maxQueuedPerThread ?? MAX_QUEUED_PER_THREAD));
  const threads: SigningThread[] = [];
  const waiting = new Fifo<SigningJob>();
  const keyNumbers = new WeakMap<KeyObject, number>();
  let nextKeyNumber = 1;
  /** A flush queued as a microtask (`soon`), for the check phase (`later`), or none. */
  let flushScheduled: "soon" | "later" | false = false;
  let closed = false;

  // A key dropped by its owner is dropped by the threads too, so they do not hold every key ever used.
  const forgetDroppedKey = new FinalizationRegistry<number>((keyNumber) => {
    for (const thread of threads) {
      if (thread.sentKeys.delete(keyNumber)) thread.forget.push(keyNumber);
    }
    scheduleFlush();
  });

  function keyNumberOf(key: KeyObject): number {
    let keyNumber = keyNumbers.get(key);
    if (keyNumber === undefined) {
      keyNumber = nextKeyNumber++;
      keyNumbers.set(key, keyNumber);
      forgetDroppedKey.register(key, keyNumber);
    }
    return keyNumber;
  }

  function startThread(): SigningThread {
    // No inherited flags: `--input-type=module` would make the source ESM, and `--import` hooks
    // (loaders, instrumentation) have no use in a thread that only signs.
    const worker = new Worker(SIGNING_THREAD_SOURCE, { eval: true, execArgv: [] });
    worker.unref();
    const thread: SigningThread = {
      worker,
      sentKeys: new Set(),
      inFlight: [],
      outbox: [],
      forget: [],
      stopped: false,
    };
    worker.on("message", (results: SigningResult[]) => settle(thread, results));
    worker.on("error", (error: Error) => retire(thread, `signing thread failed: ${error.message}`));
    worker.on("messageerror", (error: Error) => {
      retire(thread, `signing thread could not read a message: ${error.message}`);
      void worker.terminate();
    });
    worker.on("exit", (code: number) => retire(thread, `signing thread stopped (exit code ${code})`));
    threads.push(thread);
    return thread;
  }

  function settle(thread: SigningThread, results: SigningResult[]): void {
    for (const result of results) {
      const job = thread.inFlight.shift();
      if (!job) break;
      if (typeof result === "string") job.resolve(result);
      else job.reject(new Error(`signing failed: ${result.error}`));
    }
    if (thread.inFlight.length === 0) thread.worker.unref();
    // Refill now rather than in a later tick: the thread may already be out of work.
    flush();
  }

  /** Takes a thread out of service and rejects everything it was given. */
  function retire(thread: SigningThread, reason: string): void {
    if (thread.stopped) return;
    thread.stopped = true;
    threads.splice(threads.indexOf(thread), 1);
    thread.worker.unref();
    const error = new Error(reason);
    for (const job of thread.inFlight.splice(0)) job.reject(error);
    for (const job of thread.outbox.splice(0)) job.reject(error);
    if (waiting.length > 0) scheduleFlush();
  }

  /**
   * `urgent`: an RSA job (about a millisecond), which a thread low on work should get at once. Ed25519
   * jobs (tens of microseconds) wait for the check phase, so that the jobs of a whole event-loop turn
   * share one message: posting one costs the event loop about as much as an Ed25519 signature.
   */
  function scheduleFlush(urgent = true): void {
    const someThreadLow = () =>
      threads.length < maxThreads || threads.some((thread) => loadOf(thread) < POST_SOON_BELOW);
    if (flushScheduled === "soon") return;
    if (urgent && someThreadLow()) {
      // Also when a check-phase flush is pending: that one then finds nothing left to post.
      flushScheduled = "soon";
      queueMicrotask(flush);
      return;
    }
    if (flushScheduled === "later") return;
    flushScheduled = "later";
    setImmediate(flush);
  }

  /** Hands waiting jobs to threads with room, then posts one batch per thread. */
  function flush(): void {
    flushScheduled = false;
    if (closed) return;
    while (waiting.length > 0) {
      const place = placeJob(threads.map(loadOf), maxThreads, maxQueuedPerThread);
      if (place === undefined) break;
      const thread = place === "start" ? startThread() : threads[place];
      const job = waiting.shift();
      if (!thread || !job) break;
      thread.outbox.push(job);
    }
    for (const thread of threads) {
      if (thread.outbox.length > 0 || thread.forget.length > 0) post(thread);
    }
  }

  function post(thread: SigningThread): void {
    const jobs = thread.outbox;
    thread.outbox = [];
    const batch: SigningBatch = {
      keys: [],
      forget: thread.forget,
      keyNumbers: [],
      digests: [],
      ends: [],
      bytes: new ArrayBuffer(0),
    };
    thread.forget = [];
    let total = 0;
    for (const job of jobs) {
      if (!thread.sentKeys.has(job.keyNumber)) {
        thread.sentKeys.add(job.keyNumber);
        batch.keys.push([job.keyNumber, job.key]);
      }
      batch.keyNumbers.push(job.keyNumber);
      batch.digests.push(job.digest);
      total += Buffer.byteLength(job.signingString, "utf8");
      batch.ends.push(total);
    }
    // A buffer of its own (not a slice of Node's shared pool), moved to the thread without a copy.
    const bytes = Buffer.allocUnsafeSlow(total);
    let offset = 0;
    for (const job of jobs) offset += bytes.write(job.signingString, offset, "utf8");
    batch.bytes = bytes.buffer as ArrayBuffer;
    if (thread.inFlight.length === 0 && jobs.length > 0) thread.worker.ref();
    thread.inFlight.push(...jobs);
    thread.worker.postMessage(batch, [batch.bytes]);
  }

  return {
    sign(key, digest, signingString) {
      if (closed) return Promise.reject(new Error("the request signer is closed"));
      return new Promise((resolve, reject) => {
        waiting.push({ keyNumber: keyNumberOf(key), key, digest, signingString, resolve, reject });
        scheduleFlush(digest !== null);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      const error = new Error("the request signer is closed");
      for (const job of waiting.drain()) job.reject(error);
      const stopping = threads.map((thread) => thread.worker);
      for (const thread of [...threads]) retire(thread, "the request signer is closed");
      await Promise.all(stopping.map((worker) => worker.terminate()));
    },
    async terminateThreads() {
      await Promise.all(threads.map((thread) => thread.worker.terminate()));
    },
  };
}
