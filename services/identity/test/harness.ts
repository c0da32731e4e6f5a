import { actorKeyMigrations } from "@mimi/actor-keys";
import { createTokenVerifier } from "@mimi/auth";
import { readProviderConfig } from "@mimi/provider-config";
import type { RateLimiterBackend } from "@mimi/rate-limits";
import {
  createApp,
  createLogger,
  createMetrics,
  type RunningServer,
  readConfig,
  startServer,
} from "@mimi/service-kit";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import { identityConfigSpec } from "../src/config.js";
import {
  createIdentityContext,
  type IdentityContext,
  identityMigrations,
  identityRouter,
  prepareIdentity,
} from "../src/service.js";

export interface TestIdentity {
  base: string;
  ctx: IdentityContext;
  sql: Sql;
  close(): Promise<void>;
}

/** An identity service on a random port with its own in-memory PGlite database. */
export async function startTestIdentity(
  options: {
    sql?: Sql;
    dataDir?: string;
    keyEncryptionKey?: string;
    /** Identity's settings as environment variables (the defaults for the rest). */
    env?: Record<string, string>;
    rateLimiters?: RateLimiterBackend;
    /** The token check's clock (milliseconds since the epoch); the real one when absent. */
    now?: () => number;
  } = {},
): Promise<TestIdentity> {
  const sql = options.sql ?? (await createPgliteSql());
  await migrateAll(sql, [actorKeyMigrations, identityMigrations]);
  const config = readProviderConfig({
    MIMI_DOMAIN: "a.test",
    MIMI_PUBLIC_URL: "http://a.test",
    MIMI_KEY_ENCRYPTION_KEY: options.keyEncryptionKey ?? Buffer.alloc(32, 7).toString("base64"),
  });
  const logger = createLogger({ name: "identity-test", level: "silent" });
  const settings = readConfig(identityConfigSpec, options.env ?? {});
  const ctx = createIdentityContext(
    {
      config,
      sql,
      logger,
      settings,
      ...(options.rateLimiters ? { rateLimiters: options.rateLimiters } : {}),
    },
    options.now ? { tokens: createTokenVerifier(sql, { now: options.now }) } : {},
  );
  await prepareIdentity(ctx);
  const app = createApp({
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [identityRouter(ctx)],
  });
  const server: RunningServer = await startServer(app, { port: 0, host: "127.0.0.1", logger });
  return {
    base: `http://127.0.0.1:${server.port}`,
    ctx,
    sql,
    close: async () => {
      await server.close();
      if (!options.sql) await sql.close();
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: (await res.json()) as Record<string, unknown>,
  };
}
