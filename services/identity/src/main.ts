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
import { identityConfigSpec } from "./config.js";
import { createIdentityContext, prepareIdentity } from "./context.js";
import { identityMigrations } from "./migrations.js";
import { identityRouter } from "./router.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
async function main(): Promise<void> {
  // First, so that the HTTP, database and Kafka clients created below are instrumented (OTEL_* opts in).
  const tracing = await startTracing({ serviceName: "mimi-identity" });
  const config = readProviderConfig();
  const settings = readConfig(identityConfigSpec);
  const logger = createLogger({ name: "identity", level: config.logLevel });
  const sql = await openSql({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: `${config.dataDir}/pglite` }),
    applicationName: "mimi-identity",
  });
  if (process.argv[2] === "migrate") {
    await migrateAll(sql, [actorKeyMigrations, identityMigrations]);
    await sql.close();
    return;
  }
  const ctx = createIdentityContext({ config, sql, logger, openRegistrations: settings.openRegistrations });
  await prepareIdentity(ctx);
  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics: createMetrics(),
    routers: [identityRouter(ctx)],
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
    closers: [() => tracing.shutdown(), () => sql.close()],
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(
    `identity failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
