import {
  ConfigError,
  createHealthRegistry,
  createLogger,
  createMetrics,
  installProcessErrorPolicy,
  runWithServiceRuntime,
  startTracing,
} from "@mimi/service-kit";
import { migrateAll } from "@mimi/store";
import { readProviderConfig } from "./config.js";
import { openProviderDatabase, serveProvider } from "./serve.js";
import { configure, createShutdownStack, type ServiceDefinition, startServices } from "./services.js";

/**
 * The split-deployment entry point every service shares, so each `main.ts` is one call: tracing first
 * (so the clients created after it are instrumented), the provider settings, logs, the process error
 * policy, the database, `migrate` as a one-shot command, then the service's own settings, the service
 * (`definition.create` with `deployment: { kind: "split" }`), its workers, and the HTTP server with
 * health, readiness and metrics. Shutdown (SIGTERM/SIGINT) stops the server, then closes what was
 * started in reverse: the service, the database, tracing. A configuration error ends the process with
 * status 78 and the variable's name; an error nothing handled, later, with status 70 after a fatal
 * log line (`installProcessErrorPolicy`).
 */
export function runService<Settings>(definition: ServiceDefinition<Settings>): void {
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

async function boot<Settings>(definition: ServiceDefinition<Settings>): Promise<void> {
  const tracing = await startTracing({ serviceName: `mimi-${definition.name}` });
  const config = readProviderConfig();
  const logger = createLogger({ name: definition.name, level: config.logLevel });
  installProcessErrorPolicy({ logger });
  const migrateOnly = process.argv[2] === "migrate";
  // The service's own settings are checked before the database opens; `migrate` needs none of them.
  const service = migrateOnly ? undefined : configure(definition, process.env);
  const stack = createShutdownStack(logger);
  stack.defer(() => tracing.shutdown());
  const sql = await openProviderDatabase(config, `mimi-${definition.name}`, logger);
  stack.defer(() => sql.close());
  if (!service) {
    await migrateAll(sql, definition.migrations);
    await stack.closeAll();
    return;
  }
  const metrics = createMetrics();
  const health = createHealthRegistry();
  const deps = { config, sql, logger, metrics, health, deployment: { kind: "split" } as const };
  const started = await runWithServiceRuntime({ logger, metrics, health }, () =>
    startServices([() => service.create(deps)], logger),
  );
  stack.defer(() => started.close());
  await serveProvider({
    config,
    logger,
    metrics,
    health,
    sql,
    services: started,
    stack,
    handleSignals: true,
  });
}
