import type { KeyObject } from "node:crypto";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { signRequest } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import {
  createApp,
  createMetrics,
  type Metrics,
  PROBLEM_CONTENT_TYPE,
  type RunningServer,
  readConfig,
  startServer,
} from "@mimi/service-kit";
import { type MigrationSet, migrateAll, type Sql } from "@mimi/store";
import {
  captureLogs,
  createTestDatabase as createKitDatabase,
  freePort,
  insertAccount,
  recordingBus as kitRecordingBus,
  type PublishedBatch,
  type RecordingBus,
  startFakeRemote as startKitRemote,
} from "@mimi/testkit";
import { expect } from "vitest";
import {
  createInboxIngestContext,
  type InboxIngestContext,
  type InboxIngestPorts,
  type InboxIngestSettings,
  inboxIngestConfigSpec,
  inboxIngestMigrations,
  inboxIngestRouter,
} from "../src/service.js";

export const KEK = Buffer.alloc(32, 9).toString("base64");

/** A shared in-memory database with every schema the service reads. */
export function createTestDatabase(): Promise<Sql> {
  return createKitDatabase([actorKeyMigrations, identityMigrations, inboxIngestMigrations]);
}

/** Creates a local account and returns a bearer token for it (as identity would). */
export const createAccount = insertAccount;

export interface RemoteActor {
  id: string;
  keyId: string;
  privateKey: KeyObject;
}

/**
 * A fake remote provider on 127.0.0.1: serves actor documents (RSA and Ed25519 keys) for the actors
 * it is told about and records every request it receives.
 */
export interface FakeRemote {
  port: number;
  requests: Array<{ method: string; url: string; signature: string | undefined }>;
  /** Registers an actor at `path` whose id is `${origin}${path}`. */
  addActor(origin: string, path: string, keyType: "rsa" | "ed25519", type?: string): RemoteActor;
  /** Serves `document` at `path` (replacing what was there), or answers `status` without a body. */
  serve(path: string, answer: { document: unknown } | { status: number }): void;
  close(): Promise<void>;
}

export async function startFakeRemote(): Promise<FakeRemote> {
  const remote = await startKitRemote();
  // Nothing here posts to remote providers: a POST it was not told about is as unknown as a GET.
  remote.respondWith(404);
  return {
    port: remote.port,
    get requests() {
      return remote.received.map(({ method, path, signature }) => ({ method, url: path, signature }));
    },
    addActor: (origin, path, keyType, type) =>
      remote.addActor(path, { origin, keyType, type: type ?? "Person" }),
    serve(path, answer) {
      remote.serve(
        path,
        "status" in answer ? { status: answer.status } : { status: 200, body: answer.document },
      );
    },
    close: () => remote.close(),
  };
}

/** A port nothing listens on (for unreachable key ids). */
export const closedPort = freePort;

export type { PublishedBatch };

/** An in-process bus that records what is published and can be made to fail. */
export function recordingBus(): RecordingBus {
  return kitRecordingBus();
}

export interface TestIngest {
  base: string;
  ctx: InboxIngestContext;
  bus: ReturnType<typeof recordingBus>;
  metrics: Metrics;
  ports: { -readonly [K in keyof InboxIngestPorts]: InboxIngestPorts[K] };
  /** Everything the service logged, as text. */
  logs: () => string;
  close(): Promise<void>;
}

/** inbox-ingest for provider `b.test` on a random 127.0.0.1 port. */
export async function startTestIngest(options: {
  sql: Sql;
  env?: Record<string, string>;
  settings?: Partial<InboxIngestSettings>;
  /** Channel ids `channelExists` knows besides `room1`. */
  localChannels?: string[];
}): Promise<TestIngest> {
  const config = readProviderConfig({
    MIMI_DOMAIN: "b.test",
    MIMI_PUBLIC_URL: "http://b.test",
    MIMI_KEY_ENCRYPTION_KEY: KEK,
    ...options.env,
  });
  const { logger, text } = captureLogs();
  const metrics = createMetrics({ defaultMetrics: false });
  const bus = recordingBus();
  const knownChannels = new Set(["room1", ...(options.localChannels ?? [])]);
  const ports: TestIngest["ports"] = { channelExists: async (id) => knownChannels.has(id) };
  const ctx = createInboxIngestContext({
    config,
    sql: options.sql,
    bus,
    logger,
    metrics,
    ports,
    settings: {
      // The documented defaults, with the ones these tests rely on spelled out.
      ...readConfig(inboxIngestConfigSpec, {}),
      bodyLimitBytes: 4 * 1024 * 1024,
      clockSkewSeconds: 3600,
      dedupeRetentionHours: 336,
      maxAddresses: 1000,
      maxRecipients: 1000,
      maxCopyBytes: 64 * 1024 * 1024,
      membershipTtlSeconds: 30,
      accountCacheSeconds: 30,
      dmMaxParticipants: 32,
      dmEpochWindow: 1,
      dmGroupCacheEntries: 10_000,
      dmGroupCacheTtlSeconds: 60,
      dmGroupCacheMaxStaleSeconds: 86_400,
      ...options.settings,
    },
  });
  const app = createApp({ logger, metrics, routers: [inboxIngestRouter(ctx)] });
  const server: RunningServer = await startServer(app, { port: 0, host: "127.0.0.1", logger });
  return {
    base: `http://127.0.0.1:${server.port}`,
    ctx,
    bus,
    metrics,
    ports,
    logs: text,
    close: async () => {
      await server.close();
      await ctx.close();
      await bus.close();
    },
  };
}

/** A database, a fake `remote.test` and inbox-ingest mapped to it: what most tests here start from. */
export interface IngestWorld {
  sql: Sql;
  remote: FakeRemote;
  ingest: TestIngest;
  /** Closes the service, the fake and the database. */
  close(): Promise<void>;
}

export async function startIngestWorld(
  options: {
    /** Applied after this service's own (another service's tables some tests read). */
    migrations?: MigrationSet[];
    /** Hosts mapped besides `remote.test`; `"remote"` maps a host to the fake as well. */
    hosts?: Record<string, number | "remote">;
  } & Omit<Parameters<typeof startTestIngest>[0], "sql"> = {},
): Promise<IngestWorld> {
  const { migrations, hosts, ...ingestOptions } = options;
  const sql = await createTestDatabase();
  if (migrations) await migrateAll(sql, migrations);
  const remote = await startFakeRemote();
  const connectTo = Object.entries({ "remote.test": "remote", ...hosts } as Record<string, number | "remote">)
    .map(([host, port]) => `${host}=127.0.0.1:${port === "remote" ? remote.port : port}`)
    .join(",");
  const ingest = await startTestIngest({
    ...ingestOptions,
    sql,
    env: { MIMI_DEV_CONNECT_TO: connectTo, ...ingestOptions.env },
  });
  return {
    sql,
    remote,
    ingest,
    async close() {
      await ingest.close();
      await remote.close();
      await sql.close();
    },
  };
}

/** POSTs `body` signed by `signer` (Mastodon style); `tamper` may change what is sent after signing. */
export async function postSigned(
  url: string,
  body: string,
  signer: { keyId: string; privateKey: KeyObject },
  options: { now?: Date; contentType?: string; sentBody?: string; omitSignature?: boolean } = {},
): Promise<Response> {
  const contentType = options.contentType ?? ACTIVITY_JSON;
  const headers = signRequest(
    { method: "POST", url, headers: { "content-type": contentType }, body },
    signer,
    options.now ? { now: options.now } : {},
  );
  delete headers.host; // fetch sets it to the same value
  if (options.omitSignature) delete headers.signature;
  return fetch(url, { method: "POST", headers, body: options.sentBody ?? body });
}

export function postWithToken(
  url: string,
  body: string,
  token: string | undefined,
  contentType = ACTIVITY_JSON,
) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
}

let activityCounter = 0;
/** A fresh activity id under `origin`. */
export function activityId(origin: string): string {
  activityCounter += 1;
  return `${origin}/activities/${Date.now()}-${activityCounter}`;
}

/** An OrderedCollection of `members`, as a channel's followers collection. */
export function followersCollection(channelUrl: string, members: string[]) {
  return {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${channelUrl}/followers`,
    type: "OrderedCollection",
    totalItems: members.length,
    orderedItems: members,
  };
}

/** A refusal: `status`, a problem+json body with `reason`, and nothing published on `ingest`'s bus. */
export async function expectRefused(
  ingest: TestIngest,
  response: Response,
  status: number,
  reason: string,
): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain(PROBLEM_CONTENT_TYPE);
  expect(await response.json()).toMatchObject({ status, reason });
  expect(ingest.bus.published).toEqual([]);
}
