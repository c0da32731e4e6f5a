import {
  DEFAULT_SCHEME_MEMORY_ENTRIES,
  DEFAULT_SCHEME_MEMORY_TTL_MS,
  type SchemeMemoryBounds,
} from "@mimi/http-signatures";
import { type ConfigOf, parse } from "@mimi/service-kit";
import { z } from "zod";
import { type BreakerSettings, DEFAULT_BREAKER_SETTINGS } from "./domain/circuit-breaker.js";
import { DEFAULT_UNAVAILABLE_AFTER_DAYS } from "./domain/domain-availability.js";
import type { MailboxQuota } from "./domain/mailbox-quota.js";
import { DEFAULT_RETRY_POLICY_SETTINGS, type RetryPolicySettings } from "./domain/retry-policy.js";

const ms = (value: number) => String(value);

/** delivery-fanout's own settings, beside the provider-wide ones in @mimi/provider-config. */
export const deliveryFanoutConfigSpec = {
  retryBaseDelayMs: {
    env: "MIMI_DELIVERY_RETRY_BASE_MS",
    schema: parse.positiveInt(),
    default: ms(DEFAULT_RETRY_POLICY_SETTINGS.baseDelayMs),
    description: "delay before the second attempt of a delivery; doubles per attempt (with jitter)",
  },
  retryMaxDelayMs: {
    env: "MIMI_DELIVERY_RETRY_MAX_DELAY_MS",
    schema: parse.positiveInt(),
    default: ms(DEFAULT_RETRY_POLICY_SETTINGS.maxDelayMs),
    description: "longest wait between two attempts (also caps `Retry-After`)",
  },
  retryLifetimeMs: {
    env: "MIMI_DELIVERY_RETRY_LIFETIME_MS",
    schema: parse.positiveInt(),
    default: ms(DEFAULT_RETRY_POLICY_SETTINGS.lifetimeMs),
    description: "how long after its first attempt a delivery is given up (dead-lettered)",
  },
  retryMaxAttempts: {
    env: "MIMI_DELIVERY_MAX_ATTEMPTS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_RETRY_POLICY_SETTINGS.maxAttempts),
    description: "attempts per delivery, the first included",
  },
  breakerFailureThreshold: {
    env: "MIMI_DELIVERY_BREAKER_THRESHOLD",
    schema: parse.positiveInt(),
    default: String(DEFAULT_BREAKER_SETTINGS.failureThreshold),
    description: "consecutive transient failures that open a destination's circuit breaker",
  },
  breakerCooldownMs: {
    env: "MIMI_DELIVERY_BREAKER_COOLDOWN_MS",
    schema: parse.positiveInt(),
    default: ms(DEFAULT_BREAKER_SETTINGS.cooldownMs),
    description:
      "first cool-down of an open breaker (jobs deferred, then one probe request); doubles for each failed probe",
  },
  breakerMaxCooldownMs: {
    env: "MIMI_DELIVERY_BREAKER_MAX_COOLDOWN_MS",
    schema: parse.positiveInt(),
    default: ms(DEFAULT_BREAKER_SETTINGS.maxCooldownMs),
    description: "longest cool-down of an open breaker",
  },
  unavailableAfterDays: {
    env: "MIMI_DELIVERY_UNAVAILABLE_AFTER_DAYS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_UNAVAILABLE_AFTER_DAYS),
    description: "distinct days with failures (and no success) after which a domain is marked unavailable",
  },
  requestTimeoutMs: {
    env: "MIMI_DELIVERY_TIMEOUT_MS",
    schema: parse.positiveInt(),
    default: "10000",
    description: "time budget of one outbound request (delivery POST or document fetch)",
  },
  schedulerPollMs: {
    env: "MIMI_DELIVERY_SCHEDULER_POLL_MS",
    schema: parse.positiveInt(),
    default: "1000",
    description: "how often due retries are moved from the database back onto `delivery.jobs`",
  },
  actorCacheTtlMs: {
    env: "MIMI_ACTOR_CACHE_TTL_MS",
    schema: parse.positiveInt(),
    default: ms(24 * 60 * 60_000),
    description: "how long a fetched remote actor (inbox, shared inbox, key id) is trusted",
  },
  actorCacheEntries: {
    env: "MIMI_ACTOR_CACHE_ENTRIES",
    schema: parse.positiveInt(),
    default: "10000",
    description: "remote actors kept in the in-memory LRU in front of the SQL cache",
  },
  schemeMemoryOrigins: {
    env: "MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_ENTRIES),
    description:
      "destination origins whose signature scheme (RFC 9421 or draft-cavage) is remembered at once, least recently used forgotten first",
  },
  schemeMemoryTtlMs: {
    env: "MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS",
    schema: parse.positiveInt(),
    default: ms(DEFAULT_SCHEME_MEMORY_TTL_MS),
    description:
      "how long an origin's signature scheme is remembered; after it RFC 9421 is tried again where the origin publishes Ed25519 keys",
  },
  collectionMaxItems: {
    env: "MIMI_DELIVERY_COLLECTION_MAX_ITEMS",
    schema: parse.positiveInt(),
    default: "1000",
    description: "members of remote collections one activity reaches at most (all its collections together)",
  },
  collectionMaxPages: {
    env: "MIMI_DELIVERY_COLLECTION_MAX_PAGES",
    schema: parse.positiveInt(),
    default: "100",
    description: "pages fetched from one remote collection at most",
  },
  collectionMaxFetches: {
    env: "MIMI_DELIVERY_COLLECTION_MAX_FETCHES",
    schema: parse.positiveInt(),
    default: "100",
    description:
      "requests (pages and members' actor documents) the remote collections of one activity may cost; members past it are not delivered to",
  },
  mailboxHeartbeatMs: {
    env: "MIMI_MAILBOX_HEARTBEAT_MS",
    schema: parse.positiveInt(),
    default: "15000",
    description: "interval of the comment lines that keep mailbox streams (SSE) open",
  },
  mailboxSafetyPollMs: {
    env: "MIMI_MAILBOX_SAFETY_POLL_MS",
    schema: parse.positiveInt(),
    default: "30000",
    description: "streams re-read the mailbox this often even without a notification",
  },
  mailboxMaxItems: {
    env: "MIMI_MAILBOX_MAX_ITEMS",
    schema: parse.positiveInt(),
    default: "50000",
    description: "items one user's mailbox holds at most; further items for that user are refused",
  },
  mailboxMaxBytes: {
    env: "MIMI_MAILBOX_MAX_BYTES",
    schema: parse.positiveInt(),
    default: String(256 * 1024 * 1024),
    description:
      "bytes of activities one user's mailbox holds at most; further items for that user are refused",
  },
  mailboxRetentionDays: {
    env: "MIMI_MAILBOX_RETENTION_DAYS",
    schema: parse.positiveInt(),
    default: "30",
    description: "how long a mailbox item is kept; older items are deleted by the pruner",
  },
  streamsPerUser: {
    env: "MIMI_MAILBOX_STREAMS_PER_USER",
    schema: parse.positiveInt(),
    default: "8",
    description:
      "mailbox streams (SSE) one user may hold open at once on one process; one more is refused with 429",
  },
  streamStallMs: {
    env: "MIMI_MAILBOX_STREAM_STALL_MS",
    schema: parse.positiveInt(),
    default: "60000",
    description:
      "a stream whose client takes nothing of what was written for this long is closed (reason `behind`)",
  },
  streamIdleMs: {
    env: "MIMI_MAILBOX_STREAM_IDLE_MS",
    schema: parse.positiveInt(),
    default: ms(30 * 60_000),
    description:
      "a stream that sent no activity for this long is closed (reason `idle`); the client reconnects",
  },
  streamBatchBytes: {
    env: "MIMI_MAILBOX_STREAM_BATCH_BYTES",
    schema: parse.positiveInt(),
    default: String(1024 * 1024),
    description:
      "mailbox rows a stream reads at once, in bytes (at least one row): what a stream holds in memory besides its socket buffer",
  },
  sendWindow: {
    env: "MIMI_DELIVERY_SEND_WINDOW",
    schema: parse.positiveInt(),
    default: "64",
    description:
      "deliveries in memory at once (accepted from the bus and not yet delivered, given up or stored, or read back from a held backlog); 1 = one at a time",
  },
  sendsPerDestination: {
    env: "MIMI_DELIVERY_SENDS_PER_DESTINATION",
    schema: parse.positiveInt(),
    default: "4",
    description:
      "application messages POSTed to one destination at once, started in order, none more than this many places ahead of an unfinished one of its signer; other activities (commits, Welcomes) run alone",
  },
  mailboxNotifier: {
    env: "MIMI_MAILBOX_NOTIFIER",
    schema: z.enum(["auto", "memory", "postgres"], { message: "must be auto, memory or postgres" }),
    default: "auto",
    description:
      "how writers wake streams: `postgres` (LISTEN/NOTIFY), `memory` (one process), `auto` = postgres when DATABASE_URL is set",
  },
};

/** The longest piece of an event written to a stream at once (the socket's high-water mark is 16 KiB). */
export const STREAM_CHUNK_BYTES = 16 * 1024;

export interface StreamLimits {
  /** Streams one user may hold open at once in this process. */
  maxPerUser: number;
  /** How long a write may wait for the client before the stream is closed as `behind`. */
  stallTimeoutMs: number;
  /** How long a stream may go without sending an activity before it is closed as `idle`. */
  idleTimeoutMs: number;
  /** Bytes of mailbox rows a stream reads at once (at least one row). */
  batchBytes: number;
  /** Longest piece written at once. */
  chunkBytes: number;
}

export type DeliveryFanoutConfig = ConfigOf<typeof deliveryFanoutConfigSpec>;

/** The settings the context uses, grouped by concern; tests build them with millisecond delays. */
export interface DeliverySettings {
  retry: RetryPolicySettings;
  breaker: BreakerSettings;
  unavailableAfterDays: number;
  requestTimeoutMs: number;
  schedulerPollMs: number;
  actorCache: { ttlMs: number; maxEntries: number };
  /** The per-origin memory of the signature scheme each destination reads (double-knocking); absent: the defaults. */
  signatureSchemes?: SchemeMemoryBounds;
  collections: {
    maxCollectionItems: number;
    maxCollectionPages: number;
    maxCollectionFetches: number;
    fetchConcurrency: number;
  };
  mailbox: { heartbeatMs: number; safetyPollMs: number; maxPageSize: number; defaultPageSize: number };
  /** What one user's mailbox holds at most, and for how long. */
  mailboxQuota: MailboxQuota & { retentionMs: number; pruneIntervalMs: number; pruneBatch: number };
  /** Limits of live mailbox streams (SSE). */
  streams: StreamLimits;
  /**
   * Deliveries in memory at once (accepted and not yet delivered, given up or stored, or read back from
   * a held backlog); their offsets are committed only once their outcome is recorded.
   */
  sendWindow: number;
  /**
   * Jobs of one destination running at once, started in order, and how far (in places) a job of a
   * signer may run ahead of an unfinished earlier one (MIMI_DELIVERY_SENDS_PER_DESTINATION).
   */
  sendsPerDestination: number;
  /** Delays of the bus retry topics, used only when a handler fails unexpectedly (database down). */
  busRetryDelaysMs: number[];
}

export function deliverySettingsFrom(config: DeliveryFanoutConfig): DeliverySettings {
  return {
    retry: {
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
      lifetimeMs: config.retryLifetimeMs,
      maxAttempts: config.retryMaxAttempts,
    },
    breaker: {
      failureThreshold: config.breakerFailureThreshold,
      cooldownMs: config.breakerCooldownMs,
      maxCooldownMs: Math.max(config.breakerCooldownMs, config.breakerMaxCooldownMs),
      // A probe is a delivery POST: it may take the whole request budget.
      probeTimeoutMs: config.requestTimeoutMs,
    },
    unavailableAfterDays: config.unavailableAfterDays,
    requestTimeoutMs: config.requestTimeoutMs,
    schedulerPollMs: config.schedulerPollMs,
    actorCache: { ttlMs: config.actorCacheTtlMs, maxEntries: config.actorCacheEntries },
    signatureSchemes: { maxEntries: config.schemeMemoryOrigins, ttlMs: config.schemeMemoryTtlMs },
    collections: {
      maxCollectionItems: config.collectionMaxItems,
      maxCollectionPages: config.collectionMaxPages,
      maxCollectionFetches: config.collectionMaxFetches,
      fetchConcurrency: 8,
    },
    mailbox: {
      heartbeatMs: config.mailboxHeartbeatMs,
      safetyPollMs: config.mailboxSafetyPollMs,
      maxPageSize: 200,
      defaultPageSize: 50,
    },
    mailboxQuota: {
      maxItems: config.mailboxMaxItems,
      maxBytes: config.mailboxMaxBytes,
      retentionMs: config.mailboxRetentionDays * 24 * 60 * 60_000,
      pruneIntervalMs: 10 * 60_000,
      pruneBatch: 1_000,
    },
    streams: {
      maxPerUser: config.streamsPerUser,
      stallTimeoutMs: config.streamStallMs,
      idleTimeoutMs: config.streamIdleMs,
      batchBytes: config.streamBatchBytes,
      chunkBytes: STREAM_CHUNK_BYTES,
    },
    busRetryDelaysMs: [1_000, 10_000, 60_000],
    sendWindow: config.sendWindow,
    sendsPerDestination: config.sendsPerDestination,
  };
}
