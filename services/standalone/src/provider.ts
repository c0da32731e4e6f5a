import "reflect-metadata";
import {
  BUS_HEALTH_COMPONENT,
  type Bus,
  consumerEventReporter,
  consumersHealth,
  createInProcessBus,
} from "@mimi/bus";
import { channelSequencerService } from "@mimi/channel-sequencer";
import { deliveryFanoutService } from "@mimi/delivery-fanout";
import { identityService } from "@mimi/identity";
import { inboxIngestService } from "@mimi/inbox-ingest";
import { keyPackageDirectoryService } from "@mimi/keypackage-directory";
import {
  configure,
  createShutdownStack,
  migrationsOf,
  openProviderDatabase,
  type ProviderConfig,
  readProviderConfig,
  serveProvider,
  startServices,
} from "@mimi/provider-config";
import {
  createHealthRegistry,
  createLogger,
  createMetrics,
  installProcessErrorPolicy,
  type Logger,
} from "@mimi/service-kit";
import { migrateAll, type Sql } from "@mimi/store";

/**
 * The whole provider in one process on one port: every service's factory, the one the split
 * deployment runs each in its own process, built with the embedded adapters (PGlite under
 * MIMI_DATA_DIR unless DATABASE_URL is set, one in-process bus, in-memory claim state) and their
 * routes mounted on one app.
 */
export interface RunningProvider {
  config: ProviderConfig;
  url: string;
  port: number;
  sql: Sql;
  bus: Bus;
  logger: Logger;
  close(): Promise<void>;
}

export interface StartProviderOptions {
  env?: Record<string, string | undefined>;
  /** Listen address (tests bind to 127.0.0.1). */
  host?: string;
  handleSignals?: boolean;
  logger?: Logger;
  /** Runs once everything else is closed (the process's tracing flushes its last spans here). */
  afterClose?: () => Promise<void>;
}

export async function startProvider(options: StartProviderOptions = {}): Promise<RunningProvider> {
  const env = options.env ?? process.env;
  // Every setting is read (and checked) before anything starts. The order is the start order: a
  // service comes after those consuming what it produces, so on shutdown (in reverse) it stops
  // feeding them first: inbox-ingest feeds the sequencer, which feeds delivery-fanout.
  const config = readProviderConfig(env);
  const services = [
    configure(identityService, env),
    configure(keyPackageDirectoryService, env),
    configure(deliveryFanoutService, env),
    configure(channelSequencerService, env),
    configure(inboxIngestService, env),
  ];

  const logger = options.logger ?? createLogger({ name: `mimi:${config.domain}`, level: config.logLevel });
  // As its own process, an unhandled error ends it with a log line (the state is unknown after one);
  // inside a test process the test runner decides.
  if (options.handleSignals) installProcessErrorPolicy({ logger });
  if (config.connectTo.size > 0) {
    logger.warn(
      { connectTo: Object.fromEntries(config.connectTo) },
      "DEVELOPMENT HOST MAPPING ACTIVE (MIMI_DEV_CONNECT_TO): requests to these hosts go to local addresses over plain HTTP; never use this in production",
    );
  }

  // Closed in reverse: the services (workers first), then the bus, the database, then `afterClose`.
  const stack = createShutdownStack(logger);
  if (options.afterClose) stack.defer(options.afterClose);
  try {
    const sql = await openProviderDatabase(config, "mimi-standalone", logger);
    stack.defer(() => sql.close());
    await migrateAll(sql, migrationsOf(services));
    const metrics = createMetrics();
    const health = createHealthRegistry();
    // A crashed consumer restarts with backoff; one that keeps crashing fails /healthz.
    const bus = createInProcessBus({ onConsumerEvent: consumerEventReporter({ logger, metrics, health }) });
    stack.defer(() => bus.close());
    health.register(BUS_HEALTH_COMPONENT, () => consumersHealth(bus.consumers()));

    const deps = { config, sql, logger, metrics, health, deployment: { kind: "standalone", bus } as const };
    const started = await startServices(
      services.map((service) => () => service.create(deps)),
      logger,
    );
    stack.defer(() => started.close());

    const server = await serveProvider({
      config,
      logger,
      metrics,
      health,
      sql,
      services: started,
      stack,
      ...(options.host ? { host: options.host } : {}),
      handleSignals: options.handleSignals ?? false,
    });
    logger.info({ domain: config.domain, url: config.publicUrl, dataDir: config.dataDir }, "provider ready");
    return {
      config,
      url: config.publicUrl,
      port: server.port,
      sql,
      bus,
      logger,
      close: () => server.close(),
    };
  } catch (error) {
    // A provider that failed to start releases what it had opened (tests start many in one process).
    await stack.closeAll();
    throw error;
  }
}
