import { openServiceBus } from "@mimi/bus";
import { channelFollowers } from "@mimi/channel-sequencer/reads";
import { runService } from "@mimi/provider-config";
import { parse, readConfig } from "@mimi/service-kit";
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
        localChannelFollowers: (channelId) => channelFollowers(sql, channelId),
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
