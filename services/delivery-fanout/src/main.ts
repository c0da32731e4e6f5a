/**
 * Split-deployment entry: delivery-fanout alone, against PostgreSQL (or PGlite) and Kafka (or the
 * in-process bus when KAFKA_BROKERS is unset, for a single-replica trial). Wiring only.
 */
import { join } from "node:path";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { type Bus, createInProcessBus, createKafkaBus } from "@mimi/bus";
import { readProviderConfig } from "@mimi/provider-config";
import { createApp, createLogger, createMetrics, readConfigOrExit, startServer } from "@mimi/service-kit";
import { migrateAll, openSql } from "@mimi/store";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { createInProcessNotifier, createPgNotifier, type MailboxNotifier } from "./adapters/notifier.js";
import { deliveryFanoutConfigSpec, deliverySettingsFrom } from "./config.js";
import { closeDeliveryFanout, createDeliveryFanoutContext, prepareDeliveryFanout } from "./context.js";
import { deliveryFanoutMigrations } from "./migrations.js";
import { deliveryFanoutRouter } from "./router.js";
import { startDeliveryFanoutWorkers } from "./workers.js";

const config = readProviderConfig();
const own = readConfigOrExit(deliveryFanoutConfigSpec);
const logger = createLogger({ name: "delivery-fanout", level: config.logLevel });
const sql = await openSql({
  ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: join(config.dataDir, "pglite") }),
  applicationName: "mimi-delivery-fanout",
});
// Identity owns `identity` (accounts, tokens), which this service reads; its migrations run there.
await migrateAll(sql, [actorKeyMigrations, deliveryFanoutMigrations]);

const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter((broker) => broker.length > 0);
const bus: Bus =
  brokers.length > 0
    ? await createKafkaBus({
        brokers,
        clientId: "delivery-fanout",
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
  closers: [() => sql.close(), () => closeDeliveryFanout(ctx), () => bus.close(), () => workers.stop()],
});
