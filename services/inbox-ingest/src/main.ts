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
import { migrateAll, openSql, type Sql } from "@mimi/store";
import { TopicNames } from "@mimi/topics";
import { z } from "zod";
import { channelExistsViaSequencer } from "./channel-lookup.js";
import { inboxIngestConfigSpec } from "./config.js";
import { createInboxIngestContext } from "./context.js";
import { inboxIngestMigrations } from "./migrations.js";
import { inboxIngestRouter } from "./router.js";
import { startInboxIngestWorkers } from "./workers.js";

/** Settings only the split deployment needs (the standalone process wires these in-process). */
const splitDeploymentSpec = {
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    schema: parse.list(),
    default: "",
    description:
      "comma-separated Kafka brokers; empty runs an in-process bus (nothing consumes it: tests only)",
  },
  kafkaTopicPrefix: {
    env: "MIMI_KAFKA_TOPIC_PREFIX",
    // Kafka topic names allow letters, digits, '.', '_' and '-'.
    schema: z.string().regex(/^[A-Za-z0-9._-]*$/, "only letters, digits, '.', '_' and '-'"),
    default: "",
    description:
      "prefix of this provider's Kafka topics and consumer groups (several providers on one cluster)",
  },
  channelSequencerUrl: {
    env: "MIMI_CHANNEL_SEQUENCER_URL",
    schema: parse.url(),
    description: "cluster-internal base URL of channel-sequencer, asked whether a channel exists",
  },
};

/**
 * Local channels' followers, read from channel-sequencer's `channels` schema in the provider's shared
 * database (as every service reads `identity.tokens`): the members the sequencer committed, with no
 * network hop and no dependency on the sequencer being up. Undefined when the channel does not exist.
 */
function channelFollowersFromDatabase(sql: Sql): (channelId: string) => Promise<string[] | undefined> {
  return async (channelId) => {
    const channel = await sql.query("select 1 from channels.channels where id = $1", [channelId]);
    if (channel.rows.length === 0) return undefined;
    const members = await sql.query<{ actor_url: string }>(
      "select distinct actor_url from channels.members where channel_id = $1 order by actor_url",
      [channelId],
    );
    return members.rows.map((row) => row.actor_url);
  };
}

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
async function main(): Promise<void> {
  // First, so that the HTTP, database and Kafka clients created below are instrumented (OTEL_* opts in).
  const tracing = await startTracing({ serviceName: "mimi-inbox-ingest" });
  const config = readProviderConfig();
  const settings = readConfig(inboxIngestConfigSpec);
  const deployment = readConfig(splitDeploymentSpec);
  const logger = createLogger({ name: "inbox-ingest", level: config.logLevel });
  const sql = await openSql({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: `${config.dataDir}/pglite` }),
    applicationName: "mimi-inbox-ingest",
  });
  if (process.argv[2] === "migrate") {
    await migrateAll(sql, [inboxIngestMigrations]);
    await sql.close();
    return;
  }
  let bus: Bus;
  if (deployment.kafkaBrokers.length > 0) {
    bus = await createKafkaBus({
      brokers: deployment.kafkaBrokers,
      clientId: "inbox-ingest",
      namespace: deployment.kafkaTopicPrefix,
      topics: [TopicNames.channelInbox, TopicNames.userInbox, TopicNames.deliveryRequests],
    });
  } else {
    logger.warn(
      "KAFKA_BROKERS is not set: activities go to an in-process bus that nothing in this process consumes",
    );
    bus = createInProcessBus();
  }
  const metrics = createMetrics();
  const ctx = createInboxIngestContext({
    config,
    sql,
    bus,
    logger,
    metrics,
    settings,
    ports: {
      channelExists: channelExistsViaSequencer(deployment.channelSequencerUrl),
      localChannelFollowers: channelFollowersFromDatabase(sql),
    },
  });
  const workers = await startInboxIngestWorkers(ctx);
  let shuttingDown = false;
  const app = createApp({
    logger,
    metrics,
    routers: [inboxIngestRouter(ctx)],
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
    `inbox-ingest failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
