import { openServiceBus } from "@mimi/bus";
import { runService } from "@mimi/provider-config";
import { parse, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { TopicNames } from "@mimi/topics";
import { channelExistsViaSequencer } from "./channel-lookup.js";
import { inboxIngestConfigSpec } from "./config.js";
import { createInboxIngestContext } from "./context.js";
import { inboxIngestMigrations } from "./migrations.js";
import { inboxIngestRouter } from "./router.js";
import { startInboxIngestWorkers } from "./workers.js";

/** Settings only the split deployment needs (the standalone process wires the bus in-process). */
const splitDeploymentSpec = {
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
runService({
  name: "inbox-ingest",
  migrations: [inboxIngestMigrations],
  async start({ config, sql, logger, metrics }) {
    const settings = readConfig(inboxIngestConfigSpec);
    const deployment = readConfig(splitDeploymentSpec);
    const bus = await openServiceBus({
      clientId: "inbox-ingest",
      topics: [TopicNames.channelInbox, TopicNames.userInbox, TopicNames.deliveryRequests],
      onInProcess: () =>
        logger.warn("KAFKA_BROKERS is not set: activities go to an in-process bus that nothing consumes"),
    });
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
    // Released in reverse: workers, then the outbound client, then the bus.
    return {
      routers: [inboxIngestRouter(ctx)],
      closers: [() => bus.close(), () => ctx.close(), () => workers.stop()],
    };
  },
});
