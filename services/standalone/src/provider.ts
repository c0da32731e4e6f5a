import "reflect-metadata";
import { join } from "node:path";
import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  BUS_HEALTH_COMPONENT,
  type Bus,
  consumerEventReporter,
  consumersHealth,
  createInProcessBus,
} from "@mimi/bus";
import {
  channelSequencerConfigSpec,
  channelSequencerMigrations,
  channelSequencerRouter,
  createChannelSequencerContext,
  startChannelSequencerWorkers,
} from "@mimi/channel-sequencer";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  deliveryFanoutConfigSpec,
  deliveryFanoutMigrations,
  deliveryFanoutRouter,
  deliverySettingsFrom,
  prepareDeliveryFanout,
  startDeliveryFanoutWorkers,
} from "@mimi/delivery-fanout";
import {
  createIdentityContext,
  identityConfigSpec,
  identityMigrations,
  identityRouter,
  prepareIdentity,
} from "@mimi/identity";
import {
  createInboxIngestContext,
  inboxIngestConfigSpec,
  inboxIngestMigrations,
  inboxIngestRouter,
  startInboxIngestWorkers,
} from "@mimi/inbox-ingest";
import {
  createKeyPackageDirectoryContext,
  keyPackageDirectoryConfigSpec,
  keyPackageDirectoryMigrations,
  keyPackageDirectoryRouter,
  prepareKeyPackageDirectory,
} from "@mimi/keypackage-directory";
import { type ProviderConfig, readProviderConfig } from "@mimi/provider-config";
import {
  createApp,
  createHealthRegistry,
  createLogger,
  createMetrics,
  installProcessErrorPolicy,
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
  // Every setting is read (and checked) before anything starts.
  const config = readProviderConfig(env);
  const identitySettings = readConfig(identityConfigSpec, env);
  const ingestSettings = readConfig(inboxIngestConfigSpec, env);
  const deliverySettings = deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, env));
  const keyPackageSettings = readConfig(keyPackageDirectoryConfigSpec, env);
  const channelSettings = readConfig(channelSequencerConfigSpec, env);

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

  const sql = await openSql({
    ...(config.databaseUrl
      ? { databaseUrl: config.databaseUrl }
      : { dataDir: join(config.dataDir, "pglite") }),
    applicationName: "mimi-standalone",
    maxConnections: config.databasePoolMax,
  });
  await migrateAll(sql, [
    actorKeyMigrations,
    identityMigrations,
    inboxIngestMigrations,
    deliveryFanoutMigrations,
    keyPackageDirectoryMigrations,
    channelSequencerMigrations,
  ]);
  const metrics = createMetrics();
  const health = createHealthRegistry();
  // A crashed consumer restarts with backoff; one that keeps crashing fails /healthz.
  const bus = createInProcessBus({ onConsumerEvent: consumerEventReporter({ logger, metrics, health }) });
  health.register(BUS_HEALTH_COMPONENT, () => consumersHealth(bus.consumers()));

  const identity = createIdentityContext({
    config,
    sql,
    logger,
    openRegistrations: identitySettings.openRegistrations,
  });
  await prepareIdentity(identity);

  const channels = createChannelSequencerContext({ config, sql, bus, logger, settings: channelSettings });

  const delivery = createDeliveryFanoutContext({
    config,
    sql,
    logger,
    bus,
    settings: deliverySettings,
  });
  await prepareDeliveryFanout(delivery);

  const keyPackages = createKeyPackageDirectoryContext({ config, sql, logger, settings: keyPackageSettings });
  await prepareKeyPackageDirectory(keyPackages);

  const ingest = createInboxIngestContext({
    config,
    sql,
    bus,
    logger,
    metrics,
    settings: ingestSettings,
  });

  const workers = [
    await startChannelSequencerWorkers(channels),
    await startDeliveryFanoutWorkers(delivery),
    await startInboxIngestWorkers(ingest),
  ];

  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics,
    routers: [
      identityRouter(identity),
      keyPackageDirectoryRouter(keyPackages),
      inboxIngestRouter(ingest),
      channelSequencerRouter(channels),
      deliveryFanoutRouter(delivery),
    ],
    readiness: [{ name: "database", check: () => sql.ping() }],
    health,
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
    // Closed in reverse: workers stop before the bus, the bus before the database.
    closers: [
      ...(options.afterClose ? [options.afterClose] : []),
      () => sql.close(),
      () => bus.close(),
      () => closeDeliveryFanout(delivery),
      () => keyPackages.close(),
      () => ingest.close(),
      () => channels.close(),
      async () => {
        for (const worker of workers) await worker.stop();
      },
    ],
  });
  logger.info({ domain: config.domain, url: config.publicUrl, dataDir: config.dataDir }, "provider ready");
  return { config, url: config.publicUrl, port: server.port, sql, bus, logger, close: () => server.close() };
}
