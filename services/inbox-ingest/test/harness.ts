import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { hashToken } from "@mimi/auth";
import { type Bus, type BusMessage, createInProcessBus } from "@mimi/bus";
import { signRequest } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import {
  createApp,
  createMetrics,
  type Metrics,
  type RunningServer,
  readConfig,
  startServer,
} from "@mimi/service-kit";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import { pino } from "pino";
import {
  createInboxIngestContext,
  type InboxIngestContext,
  type InboxIngestPorts,
  type InboxIngestSettings,
  inboxIngestMigrations,
  inboxIngestRouter,
  inboxRateLimitConfigSpec,
} from "../src/service.js";

export const KEK = Buffer.alloc(32, 9).toString("base64");

/** A shared in-memory database with every schema the service reads. */
export async function createTestDatabase(): Promise<Sql> {
  const sql = await createPgliteSql();
  await migrateAll(sql, [actorKeyMigrations, identityMigrations, inboxIngestMigrations]);
  return sql;
}

/** Creates a local account and returns a bearer token for it (as identity would). */
export async function createAccount(sql: Sql, username: string): Promise<string> {
  const token = `mimi_test-${username}-${Math.random().toString(36).slice(2)}`;
  await sql.query("insert into identity.accounts (username, password_hash) values ($1, 'unused')", [
    username,
  ]);
  await sql.query("insert into identity.tokens (token_hash, username) values ($1, $2)", [
    hashToken(token),
    username,
  ]);
  return token;
}

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
  const documents = new Map<string, unknown>();
  const statuses = new Map<string, number>();
  const requests: FakeRemote["requests"] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const signature = req.headers.signature;
    requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      signature: typeof signature === "string" ? signature : undefined,
    });
    const status = statuses.get(req.url ?? "");
    if (status !== undefined) {
      res.writeHead(status).end();
      return;
    }
    const document = documents.get(req.url ?? "");
    if (!document) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": ACTIVITY_JSON }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    addActor(origin, path, keyType, type = "Person") {
      const { publicKey, privateKey } =
        keyType === "rsa"
          ? generateKeyPairSync("rsa", { modulusLength: 2048 })
          : generateKeyPairSync("ed25519");
      const id = `${origin}${path}`;
      const keyId = `${id}#main-key`;
      documents.set(path, {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        id,
        type,
        inbox: `${id}/inbox`,
        followers: `${id}/followers`,
        endpoints: { sharedInbox: `${origin}/inbox` },
        publicKey: {
          id: keyId,
          owner: id,
          publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
        },
      });
      return { id, keyId, privateKey };
    },
    serve(path, answer) {
      if ("status" in answer) {
        statuses.set(path, answer.status);
        documents.delete(path);
      } else {
        statuses.delete(path);
        documents.set(path, answer.document);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (for unreachable key ids). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PublishedBatch {
  topic: string;
  messages: BusMessage[];
}

/** An in-process bus that records what is published and can be made to fail. */
export function recordingBus(): Bus & { published: PublishedBatch[]; failNextPublish: boolean } {
  const inner = createInProcessBus();
  const bus = {
    published: [] as PublishedBatch[],
    failNextPublish: false,
    async publish(topic: string, messages: BusMessage[]) {
      if (bus.failNextPublish) {
        bus.failNextPublish = false;
        throw new Error("broker unavailable");
      }
      bus.published.push({ topic, messages });
      await inner.publish(topic, messages);
    },
    subscribe: inner.subscribe.bind(inner),
    close: inner.close.bind(inner),
  };
  return bus;
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
  let logText = "";
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _encoding, callback) {
        logText += String(chunk);
        callback();
      },
    }),
  );
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
      bodyLimitBytes: 4 * 1024 * 1024,
      clockSkewSeconds: 3600,
      dedupeRetentionHours: 336,
      maxAddresses: 1000,
      maxRecipients: 1000,
      maxCopyBytes: 64 * 1024 * 1024,
      membershipTtlSeconds: 30,
      accountCacheSeconds: 30,
      ...readConfig(inboxRateLimitConfigSpec, {}),
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
    logs: () => logText,
    close: async () => {
      await server.close();
      await ctx.close();
      await bus.close();
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
