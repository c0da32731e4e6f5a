import "reflect-metadata";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { readProviderConfig } from "@mimi/provider-config";
import {
  ConfigError,
  createApp,
  createLogger,
  createMetrics,
  readConfig,
  startServer,
  startTracing,
} from "@mimi/service-kit";
import { migrateAll, openSql } from "@mimi/store";
import { keyPackageDirectoryConfigSpec } from "./config.js";
import { createKeyPackageDirectoryContext, prepareKeyPackageDirectory } from "./context.js";
import { keyPackageDirectoryMigrations } from "./migrations.js";
import { keyPackageDirectoryRouter } from "./router.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
async function main(): Promise<void> {
  // First, so that the HTTP, database and Kafka clients created below are instrumented (OTEL_* opts in).
  const tracing = await startTracing({ serviceName: "mimi-keypackage-directory" });
  const config = readProviderConfig();
  const settings = readConfig(keyPackageDirectoryConfigSpec);
  const logger = createLogger({ name: "keypackage-directory", level: config.logLevel });
  const sql = await openSql({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: `${config.dataDir}/pglite` }),
    applicationName: "mimi-keypackage-directory",
  });
  if (process.argv[2] === "migrate") {
    // Actor keys: remote claims are signed as the requesting user's actor (identity owns the table too).
    await migrateAll(sql, [actorKeyMigrations, keyPackageDirectoryMigrations]);
    await sql.close();
    return;
  }
  if (!settings.redisUrl) {
    logger.warn("REDIS_URL is not set: claim state is kept in memory, so run a single replica");
  }
  const ctx = createKeyPackageDirectoryContext({ config, sql, logger, settings });
  await prepareKeyPackageDirectory(ctx);
  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics: createMetrics(),
    routers: [keyPackageDirectoryRouter(ctx)],
    readiness: [{ name: "database", check: () => sql.ping() }],
    isShuttingDown: () => shuttingDown,
  });
  await startServer(app, {
    port: config.port,
    logger,
    handleSignals: true,
    onShutdownStart: () => {
      shuttingDown = true;
    },
    // Closed in reverse: the outbound client and claim store, then the database.
    closers: [() => tracing.shutdown(), () => sql.close(), () => ctx.close()],
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(
    `keypackage-directory failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
