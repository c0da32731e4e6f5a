import {
  ConfigError,
  createApp,
  createHealthRegistry,
  createLogger,
  createMetrics,
  type HealthRegistry,
  installProcessErrorPolicy,
  type Logger,
  type Metrics,
  type ReadinessCheck,
  runWithServiceRuntime,
  startServer,
  startTracing,
} from "@mimi/service-kit";
import { type MigrationSet, migrateAll, openSql, type Sql } from "@mimi/store";
import type { Router } from "express";
import { type ProviderConfig, readProviderConfig } from "./index.js";

export interface ServiceDeps {
  config: ProviderConfig;
  sql: Sql;
  logger: Logger;
  metrics: Metrics;
  /**
   * Where components report their own health (`/readyz`, and `/healthz` for what only a restart
   * mends). The same registry is the service runtime's while `start` runs, so a bus opened with
   * `openServiceBus` registers its consumers itself.
   */
  health: HealthRegistry;
}

export interface StartedService {
  routers: Router[];
  /** Checks beyond the database's, which every service has. */
  readiness?: ReadinessCheck[];
  /** Released on shutdown in reverse order of the list, after the server stopped and before the database closes. */
  closers?: Array<() => Promise<void>>;
}

export interface ServiceDefinition {
  /** e.g. `inbox-ingest`: names the logger, the tracing service and the database connections. */
  name: string;
  /** Applied by `node dist/main.js migrate` (then the process exits), in order. */
  migrations: readonly MigrationSet[];
  /** Builds the service's context, starts its workers and returns what the HTTP server mounts. */
  start(deps: ServiceDeps): Promise<StartedService>;
}

/**
 * The split-deployment entry point every service shares, so each `main.ts` only wires: tracing first
 * (so the clients created after it are instrumented), the provider settings, logs, the process error
 * policy, the database, `migrate` as a one-shot command, the HTTP server with health, readiness and
 * metrics, and a graceful shutdown. A configuration error ends the process with status 78 and the
 * variable's name; an error nothing handled, later, with status 70 after a fatal log line
 * (`installProcessErrorPolicy`).
 */
export function runService(definition: ServiceDefinition): void {
  boot(definition).catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${definition.name} failed to start: ${detail}\n`);
    process.exit(1);
  });
}

async function boot(definition: ServiceDefinition): Promise<void> {
  const tracing = await startTracing({ serviceName: `mimi-${definition.name}` });
  const config = readProviderConfig();
  const logger = createLogger({ name: definition.name, level: config.logLevel });
  installProcessErrorPolicy({ logger });
  const sql = await openSql({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: `${config.dataDir}/pglite` }),
    applicationName: `mimi-${definition.name}`,
    maxConnections: config.databasePoolMax,
    onConnectionError: (error) =>
      logger.warn({ err: error }, "idle database connection lost; the pool opens another when needed"),
  });
  if (process.argv[2] === "migrate") {
    await migrateAll(sql, definition.migrations);
    await sql.close();
    await tracing.shutdown();
    return;
  }
  const metrics = createMetrics();
  const health = createHealthRegistry();
  const started = await runWithServiceRuntime({ logger, metrics, health }, () =>
    definition.start({ config, sql, logger, metrics, health }),
  );
  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics,
    routers: started.routers,
    readiness: [{ name: "database", check: () => sql.ping() }, ...(started.readiness ?? [])],
    health,
    isShuttingDown: () => shuttingDown,
  });
  await startServer(app, {
    port: config.port,
    logger,
    handleSignals: true,
    onShutdownStart: () => {
      shuttingDown = true;
    },
    // startServer closes in reverse: the service's own resources first, then the database, then tracing.
    closers: [() => tracing.shutdown(), () => sql.close(), ...(started.closers ?? [])],
  });
}
