import "reflect-metadata";
import { join } from "node:path";
import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  createIdentityContext,
  identityConfigSpec,
  identityMigrations,
  identityRouter,
  prepareIdentity,
} from "@mimi/identity";
import { type ProviderConfig, readProviderConfig } from "@mimi/provider-config";
import {
  createApp,
  createLogger,
  createMetrics,
  type Logger,
  type RunningServer,
  readConfig,
  startServer,
} from "@mimi/service-kit";
import { migrateAll, openSql, type Sql } from "@mimi/store";

/**
 * The whole provider in one process on one port: every service's routes mounted on one app,
 * the embedded adapters (PGlite under MIMI_DATA_DIR, in-process bus, in-memory claims), and
 * the same code paths the split deployment runs.
 */
export interface RunningProvider {
  config: ProviderConfig;
  url: string;
  port: number;
  sql: Sql;
  logger: Logger;
  close(): Promise<void>;
}

export interface StartProviderOptions {
  env?: Record<string, string | undefined>;
  /** Listen address (tests bind to 127.0.0.1). */
  host?: string;
  handleSignals?: boolean;
  logger?: Logger;
}

export async function startProvider(options: StartProviderOptions = {}): Promise<RunningProvider> {
  const env = options.env ?? process.env;
  const config = readProviderConfig(env);
  const identitySettings = readConfig(identityConfigSpec, env);
  const logger = options.logger ?? createLogger({ name: `mimi:${config.domain}`, level: config.logLevel });
  if (config.connectTo.size > 0) {
    logger.warn(
      { connectTo: Object.fromEntries(config.connectTo) },
      "DEVELOPMENT HOST MAPPING ACTIVE (MIMI_DEV_CONNECT_TO): requests to these hosts go to local addresses over plain HTTP; never use this in production",
    );
  }

  const sql = await openSql({
    ...(config.databaseUrl
      ? { databaseUrl: config.databaseUrl }
      : { dataDir: join(config.dataDir, "pglite") }),
    applicationName: "mimi-standalone",
  });
  await migrateAll(sql, [actorKeyMigrations, identityMigrations]);

  const identity = createIdentityContext({
    config,
    sql,
    logger,
    openRegistrations: identitySettings.openRegistrations,
  });
  await prepareIdentity(identity);

  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics: createMetrics(),
    routers: [identityRouter(identity)],
    readiness: [{ name: "database", check: () => sql.ping() }],
    isShuttingDown: () => shuttingDown,
  });
  const server: RunningServer = await startServer(app, {
    port: config.port,
    ...(options.host ? { host: options.host } : {}),
    logger,
    handleSignals: options.handleSignals ?? false,
    onShutdownStart: () => {
      shuttingDown = true;
    },
    closers: [() => sql.close()],
  });
  logger.info({ domain: config.domain, url: config.publicUrl, dataDir: config.dataDir }, "provider ready");
  return { config, url: config.publicUrl, port: server.port, sql, logger, close: () => server.close() };
}
