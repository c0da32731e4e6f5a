import { actorKeyMigrations } from "@mimi/actor-keys";
import { openServiceBus } from "@mimi/bus";
import { runService } from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { createInProcessNotifier, createPgNotifier } from "./adapters/notifier.js";
import { deliveryFanoutConfigSpec, deliverySettingsFrom } from "./config.js";
import { closeDeliveryFanout, createDeliveryFanoutContext, prepareDeliveryFanout } from "./context.js";
import { deliveryFanoutMigrations } from "./migrations.js";
import { deliveryFanoutRouter } from "./router.js";
import { startDeliveryFanoutWorkers } from "./workers.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService({
  name: "delivery-fanout",
  // Identity owns `identity` (accounts, tokens), which this service reads; its migrations run there.
  migrations: [actorKeyMigrations, deliveryFanoutMigrations],
  async start({ config, sql, logger }) {
    const own = readConfig(deliveryFanoutConfigSpec);
    const bus = await openServiceBus({
      clientId: "delivery-fanout",
      topics: [deliveryRequestsTopic.name, deliveryJobsTopic.name, userInboxTopic.name],
      onInProcess: () =>
        logger.warn("KAFKA_BROKERS is not set: only this process's own deliveries are handled"),
    });
    const postgresNotifier =
      own.mailboxNotifier === "postgres" ||
      (own.mailboxNotifier === "auto" && config.databaseUrl !== undefined);
    if (postgresNotifier && !config.databaseUrl)
      throw new Error("MIMI_MAILBOX_NOTIFIER=postgres needs DATABASE_URL");
    // Live mailbox streams are held by any replica, so writes are announced through PostgreSQL.
    const notifier =
      postgresNotifier && config.databaseUrl
        ? await createPgNotifier({
            connectionString: config.databaseUrl,
            onError: (error) => logger.warn({ err: error }, "mailbox notifier connection problem"),
          })
        : createInProcessNotifier();
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
    // Released in reverse: workers first (offsets of finished work committed), then the context, the bus.
    return {
      routers: [deliveryFanoutRouter(ctx)],
      closers: [() => bus.close(), () => closeDeliveryFanout(ctx), () => workers.stop()],
    };
  },
});
