import { type Cluster, Redis } from "ioredis";

/** Longest wait for one Redis command, including time spent queued while the connection is down. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2_000;
/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

export interface ClaimsRedisOptions {
  /**
   * Longest wait for one command. ioredis queues commands while it reconnects; without a bound a
   * claim during an outage would wait until the connection is back, however long that takes.
   */
  commandTimeoutMs?: number;
  /** ioredis auto-pipelining: the commands of one event-loop turn leave in one write (default on). */
  autoPipelining?: boolean;
  /**
   * Told about connection errors, once per outage (the first error after the connection was ready,
   * or before it ever was). Every error is listened to, so ioredis never reports one as unhandled.
   */
  onError?: (error: Error) => void;
}

/** How `openRedis` connects: a bound on each command's wait, and what happens while disconnected. */
export interface RedisConnectionOptions {
  /** Longest wait for one command, including time queued while the connection is down. */
  commandTimeoutMs: number;
  /** ioredis auto-pipelining: the commands of one event-loop turn leave in one write (default on). */
  autoPipelining?: boolean;
  /** Queue commands while disconnected (ioredis's default), or fail them at once when false. */
  offlineQueue?: boolean;
  /** Told about connection errors, once per outage (see `ClaimsRedisOptions.onError`). */
  onError?: (error: Error) => void;
}

/**
 * Opens a Redis connection that never reports an error as unhandled: an `error` listener that tells
 * `onError` once per outage, bounded command waits, and reconnection without end (backing off to one
 * attempt every two seconds). The claim state and the shared rate limits both connect this way.
 */
export function openRedis(url: string, options: RedisConnectionOptions): Redis {
  const redis = new Redis(url, {
    enableAutoPipelining: options.autoPipelining ?? true,
    commandTimeout: options.commandTimeoutMs,
    ...(options.offlineQueue === false ? { enableOfflineQueue: false } : {}),
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  let reported = false;
  redis.on("ready", () => {
    reported = false;
  });
  redis.on("error", (error: Error) => {
    if (reported) return;
    reported = true;
    options.onError?.(error);
  });
  return redis;
}

/** Closes a connection from `openRedis`: QUIT when the server can answer, else just drop it. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") {
    try {
      await redis.quit();
      return;
    } catch {
      // The server stopped answering meanwhile (the command timed out): drop the connection below.
    }
  }
  redis.disconnect();
}

/**
 * Opens a Redis connection as the claim state needs it: an `error` listener, bounded command waits,
 * and reconnection without end (backing off to one attempt every two seconds).
 */
export function openClaimsRedis(url: string, options: ClaimsRedisOptions = {}): Redis {
  return openRedis(url, {
    ...options,
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  });
}

/** Closes a connection from `openClaimsRedis`: QUIT when the server can answer, else just drop it. */
export const closeClaimsRedis = closeRedis;

/** A connection opened from `url` (and closed by `close`), or a caller's client or cluster (left open). */
export type ClaimsRedisSource = ({ url: string } & ClaimsRedisOptions) | { redis: Redis | Cluster };

/** The client of `source`, and how to let go of it: quit what was opened here, leave the caller's open. */
export function connectClaimsRedis(source: ClaimsRedisSource): {
  redis: Redis | Cluster;
  release(): Promise<void>;
} {
  if ("redis" in source) return { redis: source.redis, release: async () => {} };
  const owned = openClaimsRedis(source.url, source);
  return { redis: owned, release: () => closeClaimsRedis(owned) };
}

/**
 * The claim state's backend cannot be reached (connection down, command timed out, server loading or
 * read-only). Callers answer "try again later" rather than treating it as a bug.
 */
export class ClaimStateUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`claim state unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ClaimStateUnavailableError";
  }
}

// Redis replies that mean "not now" rather than "wrong command".
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)\b/;

/**
 * Whether a failed Redis command failed for want of a usable server. A reply error (Redis answered
 * and refused the command) is a bug unless it is one of the transient replies; anything else
 * (connection closed, command timed out, retries exhausted) is an outage.
 */
export function isRedisOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "ReplyError") return TRANSIENT_REPLY.test(error.message);
  return true;
}

/** Runs one Redis step; an outage rejects as `ClaimStateUnavailableError`, anything else as it was. */
export async function duringOutageUnavailable<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw isRedisOutage(error) ? new ClaimStateUnavailableError(error) : error;
  }
}
