import { type ActorKeyStore, actorKeyMigrations, createActorKeyStore } from "@mimi/actor-keys";
import { type Bus, createInProcessBus } from "@mimi/bus";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import {
  createApp,
  createLogger,
  createMetrics,
  type Metrics,
  type RunningServer,
  startServer,
} from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { createTestDatabase as createKitDatabase, insertAccount, sleep, waitFor } from "@mimi/testkit";
import { type UserInboxItem, userInboxTopic } from "@mimi/topics";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  type DeliveryFanoutContext,
  type DeliverySettings,
  deliveryFanoutMigrations,
  deliveryFanoutRouter,
  type LocalCollectionResolver,
  prepareDeliveryFanout,
  startDeliveryFanoutWorkers,
} from "../src/service.js";

export const KEK = Buffer.alloc(32, 7).toString("base64");

/** One PGlite per test file with every schema delivery-fanout touches. */
export function createTestDatabase(): Promise<Sql> {
  return createKitDatabase([actorKeyMigrations, identityMigrations, deliveryFanoutMigrations]);
}

/** An account with a bearer token, written straight into identity's tables (no password needed here). */
export const createAccount = insertAccount;

/** Millisecond timings so retries, breakers and polls happen within a test. */
export function testSettings(overrides: Partial<DeliverySettings> = {}): DeliverySettings {
  return {
    retry: { baseDelayMs: 20, maxDelayMs: 200, lifetimeMs: 10_000, maxAttempts: 100 },
    breaker: { failureThreshold: 3, cooldownMs: 100, maxCooldownMs: 400, probeTimeoutMs: 2_000 },
    unavailableAfterDays: 7,
    requestTimeoutMs: 2_000,
    schedulerPollMs: 10,
    actorCache: { ttlMs: 60_000, maxEntries: 100 },
    collections: {
      maxCollectionItems: 100,
      maxCollectionPages: 10,
      maxCollectionFetches: 100,
      fetchConcurrency: 4,
    },
    mailbox: { heartbeatMs: 15_000, safetyPollMs: 60_000, maxPageSize: 200, defaultPageSize: 50 },
    mailboxQuota: {
      maxItems: 50_000,
      maxBytes: 256 * 1024 * 1024,
      retentionMs: 30 * 24 * 60 * 60_000,
      pruneIntervalMs: 60_000,
      pruneBatch: 1_000,
    },
    streams: {
      maxPerUser: 8,
      stallTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
      batchBytes: 1024 * 1024,
      chunkBytes: 16 * 1024,
    },
    busRetryDelaysMs: [20, 50],
    sendWindow: 16,
    sendsPerDestination: 1,
    ...overrides,
  };
}

export interface RunningFanout {
  ctx: DeliveryFanoutContext;
  bus: Bus;
  base: string;
  /** `keepHeld`: leave held pairs stored, as a process that stops (or crashes) does, for the next one. */
  stop(options?: { keepHeld?: boolean }): Promise<void>;
}

/** delivery-fanout on its own bus and a random port, against the shared database. */
export async function startFanout(
  sql: Sql,
  options: {
    connectTo?: Record<string, number>;
    settings?: DeliverySettings;
    localCollections?: LocalCollectionResolver;
    metrics?: Metrics;
  } = {},
): Promise<RunningFanout> {
  const connectTo = Object.entries(options.connectTo ?? {})
    .map(([host, port]) => `${host}=127.0.0.1:${port}`)
    .join(",");
  const config = readProviderConfig({
    MIMI_DOMAIN: "a.test",
    MIMI_PUBLIC_URL: "http://a.test",
    MIMI_KEY_ENCRYPTION_KEY: KEK,
    MIMI_DEV_CONNECT_TO: connectTo,
  });
  const logger = createLogger({ name: "delivery-fanout-test", level: "silent" });
  const bus = createInProcessBus({ partitions: 2, retryDelaysMs: [20, 50] });
  const ctx = createDeliveryFanoutContext({
    config,
    sql,
    logger,
    bus,
    settings: options.settings ?? testSettings(),
    ...(options.localCollections ? { localCollections: options.localCollections } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  await prepareDeliveryFanout(ctx);
  const workers = await startDeliveryFanoutWorkers(ctx);
  const app = createApp({
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [deliveryFanoutRouter(ctx)],
  });
  const server: RunningServer = await startServer(app, {
    port: 0,
    host: "127.0.0.1",
    logger,
    drainTimeoutMs: 200,
  });
  return {
    ctx,
    bus,
    base: `http://127.0.0.1:${server.port}`,
    async stop({ keepHeld = false } = {}) {
      await workers.stop();
      await bus.close();
      await server.close();
      await closeDeliveryFanout(ctx);
      // Parked retries belong to this test's destinations; the next test must not release them.
      await sql.query("delete from delivery.scheduled_messages");
      if (!keepHeld) {
        await sql.query("delete from delivery.held_jobs");
        await sql.query("delete from delivery.held_pairs");
      }
    },
  };
}

/** Polls until `check` returns a value (not undefined/false) or the deadline passes. */
export function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 8_000,
): Promise<T> {
  return waitFor(
    "a condition",
    async () => {
      const value = await check();
      return value === false ? undefined : value;
    },
    timeoutMs,
    20,
  );
}

export { sleep };

/** The key store identity keeps actor keys in, over `sql` (with this harness's key-encryption key). */
export function testActorKeys(sql: Sql): ActorKeyStore {
  return createActorKeyStore(sql, Buffer.from(KEK, "base64"));
}

/** Publishes `items` to user.inbox as inbox-ingest does, each keyed by its user. */
export function publishToMailboxes(bus: Bus, items: UserInboxItem[]): Promise<void> {
  return bus.publish(
    userInboxTopic.name,
    items.map((entry) => userInboxTopic.message(entry.username, entry)),
  );
}

/**
 * The database of a.test with local accounts for `usernames` and actor keys for `signers` (identity
 * creates a user's key with the account; a channel's, with the channel).
 */
export async function createSendersDatabase(usernames: string[], signers: string[]): Promise<Sql> {
  const sql = await createTestDatabase();
  for (const username of usernames) await insertAccount(sql, username);
  const keys = testActorKeys(sql);
  for (const actor of signers) await keys.ensure(actor);
  return sql;
}
