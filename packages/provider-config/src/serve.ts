import { join } from "node:path";
import {
  createApp,
  type HealthRegistry,
  type Logger,
  type Metrics,
  type RunningServer,
  startServer,
} from "@mimi/service-kit";
import { openSql, type Sql } from "@mimi/store";
import type { ProviderConfig } from "./config.js";
import type { ComposedServices, ShutdownStack } from "./services.js";

/**
 * The provider's database: PostgreSQL when DATABASE_URL is set, else PGlite under MIMI_DATA_DIR. A lost
 * idle connection is logged rather than fatal, since the pool opens another when one is needed.
 */
export function openProviderDatabase(
  config: ProviderConfig,
  applicationName: string,
  logger: Logger,
): Promise<Sql> {
  return openSql({
    ...(config.databaseUrl
      ? { databaseUrl: config.databaseUrl }
      : { dataDir: join(config.dataDir, "pglite") }),
    applicationName,
    maxConnections: config.databasePoolMax,
    onConnectionError: (error) =>
      logger.warn({ err: error }, "idle database connection lost; the pool opens another when needed"),
  });
}

export interface ServeOptions {
  config: ProviderConfig;
  logger: Logger;
  metrics: Metrics;
  health: HealthRegistry;
  sql: Sql;
  services: ComposedServices;
  /** Everything started before the server, closed after it stops accepting requests. */
  stack: ShutdownStack;
  host?: string;
  handleSignals: boolean;
}

/**
 * The HTTP side every composition shares: the services' routes on one app with the database and the
 * services' readiness checks, health and metrics; readiness fails as soon as shutdown starts, so a
 * load balancer stops sending before the server drains; the stack closes once the server has drained.
 */
export function serveProvider(options: ServeOptions): Promise<RunningServer> {
  const { config, logger, sql, services, stack } = options;
  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics: options.metrics,
    trustProxy: config.trustProxy,
    routers: services.routers,
    readiness: [{ name: "database", check: () => sql.ping() }, ...services.readiness],
    health: options.health,
    isShuttingDown: () => shuttingDown,
  });
  return startServer(app, {
    port: config.port,
    ...(options.host ? { host: options.host } : {}),
    logger,
    handleSignals: options.handleSignals,
    onShutdownStart: () => {
      shuttingDown = true;
    },
    closers: [() => stack.closeAll()],
  });
}
