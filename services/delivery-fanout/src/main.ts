/**
 * Split-deployment entry: delivery-fanout alone, against PostgreSQL (or PGlite) and Kafka (or the
 * in-process bus when KAFKA_BROKERS is unset, for a single-replica trial). Wiring only.
 * `node dist/main.js migrate` applies the migrations and exits.
 */
import { join } from "node:path";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { type Bus, createInProcessBus, createKafkaBus } from "@mimi/bus";
import { readProviderConfig } from "@mimi/provider-config";
import {
  createApp,
  createLogger,
  createMetrics,
  parse,
  readConfigOrExit,
  startServer,
  startTracing,
} from "@mimi/service-kit";
import { migrateAll, openSql, type Sql } from "@mimi/store";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { z } from "zod";
import type { LocalCollectionResolver } from "./adapters/local-accounts.js";
import { createInProcessNotifier, createPgNotifier, type MailboxNotifier } from "./adapters/notifier.js";
import { deliveryFanoutConfigSpec, deliverySettingsFrom } from "./config.js";
import { closeDeliveryFanout, createDeliveryFanoutContext, prepareDeliveryFanout } from "./context.js";
import { deliveryFanoutMigrations } from "./migrations.js";
import { deliveryFanoutRouter } from "./router.js";
import { startDeliveryFanoutWorkers } from "./workers.js";

/** Settings only the split deployment needs (the standalone process wires these in-process). */
const splitDeploymentSpec = {
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    schema: parse.list(),
    default: "",
    description: "comma-separated Kafka brokers; empty runs an in-process bus (one replica, trials only)",
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

/**
 * Followers of this provider's channels, read from channel-sequencer's `channels` schema in the
 * provider's shared database (as every service reads `identity.tokens`): the audience of a channel
 * activity expands without a network hop. Undefined for any URL that is not a local channel's
 * followers collection, or a channel that does not exist.
 */
function channelFollowersFromDatabase(sql: Sql, channelUrlPrefix: string): LocalCollectionResolver {
  return async (url) => {
    if (!url.startsWith(channelUrlPrefix) || !url.endsWith("/followers")) return undefined;
    const channelId = url.slice(channelUrlPrefix.length, url.length - "/followers".length);
    if (channelId.length === 0 || /[/?#%]/.test(channelId)) return undefined;
    const channel = await sql.query("select 1 from channels.channels where id = $1", [channelId]);
    if (channel.rows.length === 0) return undefined;
    const members = await sql.query<{ actor_url: string }>(
      "select distinct actor_url from channels.members where channel_id = $1 order by actor_url",
      [channelId],
    );
    return members.rows.map((row) => row.actor_url);
  };
}

// First, so that the HTTP, database and Kafka clients created below are instrumented (OTEL_* opts in).
const tracing = await startTracing({ serviceName: "mimi-delivery-fanout" });
const config = readProviderConfig();
const own = readConfigOrExit(deliveryFanoutConfigSpec);
const deployment = readConfigOrExit(splitDeploymentSpec);
const logger = createLogger({ name: "delivery-fanout", level: config.logLevel });
const sql = await openSql({
  ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: join(config.dataDir, "pglite") }),
  applicationName: "mimi-delivery-fanout",
});
// Identity owns `identity` (accounts, tokens), which this service reads; its migrations run there.
await migrateAll(sql, [actorKeyMigrations, deliveryFanoutMigrations]);
if (process.argv[2] === "migrate") {
  await sql.close();
  process.exit(0);
}

const bus: Bus =
  deployment.kafkaBrokers.length > 0
    ? await createKafkaBus({
        brokers: deployment.kafkaBrokers,
        clientId: "delivery-fanout",
        namespace: deployment.kafkaTopicPrefix,
        topics: [deliveryRequestsTopic.name, deliveryJobsTopic.name, userInboxTopic.name],
      })
    : createInProcessBus();

const usePostgresNotifier =
  own.mailboxNotifier === "postgres" || (own.mailboxNotifier === "auto" && config.databaseUrl !== undefined);
let notifier: MailboxNotifier;
if (usePostgresNotifier) {
  if (!config.databaseUrl) throw new Error("MIMI_MAILBOX_NOTIFIER=postgres needs DATABASE_URL");
  notifier = await createPgNotifier({
    connectionString: config.databaseUrl,
    onError: (error) => logger.warn({ err: error }, "mailbox notifier connection problem"),
  });
} else {
  notifier = createInProcessNotifier();
}

const ctx = createDeliveryFanoutContext({
  config,
  sql,
  logger,
  bus,
  settings: deliverySettingsFrom(own),
  notifier,
  localCollections: channelFollowersFromDatabase(sql, config.urls.channel("")),
});
await prepareDeliveryFanout(ctx);
const workers = await startDeliveryFanoutWorkers(ctx);

let shuttingDown = false;
const app = createApp({
  logger,
  metrics: createMetrics(),
  routers: [deliveryFanoutRouter(ctx)],
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
  // Closed in reverse: workers first (offsets of finished work committed), then the bus, the context, SQL.
  closers: [
    () => tracing.shutdown(),
    () => sql.close(),
    () => closeDeliveryFanout(ctx),
    () => bus.close(),
    () => workers.stop(),
  ],
});
