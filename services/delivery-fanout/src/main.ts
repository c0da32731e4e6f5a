import { actorKeyMigrations } from "@mimi/actor-keys";
import { openServiceBus } from "@mimi/bus";
import { runService } from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import type { LocalCollectionResolver } from "./adapters/local-accounts.js";
import { createInProcessNotifier, createPgNotifier } from "./adapters/notifier.js";
import { deliveryFanoutConfigSpec, deliverySettingsFrom } from "./config.js";
import { closeDeliveryFanout, createDeliveryFanoutContext, prepareDeliveryFanout } from "./context.js";
import { deliveryFanoutMigrations } from "./migrations.js";
import { deliveryFanoutRouter } from "./router.js";
import { startDeliveryFanoutWorkers } from "./workers.js";

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
      localCollections: channelFollowersFromDatabase(sql, config.urls.channel("")),
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
