import "reflect-metadata";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { type Bus, createInProcessBus, createKafkaBus } from "@mimi/bus";
import { readProviderConfig } from "@mimi/provider-config";
import {
  ConfigError,
  createApp,
  createLogger,
  createMetrics,
  parse,
  readConfig,
  startServer,
  startTracing,
} from "@mimi/service-kit";
import { migrateAll, openSql } from "@mimi/store";
import { TopicNames } from "@mimi/topics";
import { z } from "zod";
import { channelSequencerConfigSpec } from "./config.js";
import { createChannelSequencerContext } from "./context.js";
import { channelSequencerMigrations } from "./migrations.js";
import { channelSequencerRouter } from "./router.js";
import { startChannelSequencerWorkers } from "./workers.js";

/** Settings only the split deployment needs (the standalone process wires the bus in-process). */
const splitDeploymentSpec = {
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    schema: parse.list(),
    default: "",
    description:
      "comma-separated Kafka brokers; empty runs an in-process bus that nothing feeds (tests only)",
  },
  kafkaTopicPrefix: {
    env: "MIMI_KAFKA_TOPIC_PREFIX",
    // Kafka topic names allow letters, digits, '.', '_' and '-'.
    schema: z.string().regex(/^[A-Za-z0-9._-]*$/, "only letters, digits, '.', '_' and '-'"),
    default: "",
    description:
      "prefix of this provider's Kafka topics and consumer groups (several providers on one cluster)",
  },
};

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
async function main(): Promise<void> {
  // First, so that the HTTP, database and Kafka clients created below are instrumented (OTEL_* opts in).
  const tracing = await startTracing({ serviceName: "mimi-channel-sequencer" });
  const config = readProviderConfig();
  const settings = readConfig(channelSequencerConfigSpec);
  const deployment = readConfig(splitDeploymentSpec);
  const logger = createLogger({ name: "channel-sequencer", level: config.logLevel });
  const sql = await openSql({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: `${config.dataDir}/pglite` }),
    applicationName: "mimi-channel-sequencer",
  });
  if (process.argv[2] === "migrate") {
    await migrateAll(sql, [actorKeyMigrations, channelSequencerMigrations]);
    await sql.close();
    return;
  }
  let bus: Bus;
  if (deployment.kafkaBrokers.length > 0) {
    bus = await createKafkaBus({
      brokers: deployment.kafkaBrokers,
      clientId: "channel-sequencer",
      namespace: deployment.kafkaTopicPrefix,
      topics: [TopicNames.channelInbox, TopicNames.deliveryRequests],
    });
  } else {
    logger.warn(
      "KAFKA_BROKERS is not set: the sequencer consumes an in-process bus that nothing in this process feeds",
    );
    bus = createInProcessBus();
  }
  const ctx = createChannelSequencerContext({ config, sql, bus, logger, settings });
  const workers = await startChannelSequencerWorkers(ctx);
  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics: createMetrics(),
    routers: [channelSequencerRouter(ctx)],
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
    // Closed in reverse: workers, then the outbound client, the bus, the database.
    closers: [
      () => tracing.shutdown(),
      () => sql.close(),
      () => bus.close(),
      () => ctx.close(),
      () => workers.stop(),
    ],
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(
    `channel-sequencer failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
