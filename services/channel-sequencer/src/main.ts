import "reflect-metadata";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { openServiceBus } from "@mimi/bus";
import { runService } from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { TopicNames } from "@mimi/topics";
import { channelSequencerConfigSpec } from "./config.js";
import { createChannelSequencerContext } from "./context.js";
import { channelSequencerMigrations } from "./migrations.js";
import { channelSequencerRouter } from "./router.js";
import { startChannelSequencerWorkers } from "./workers.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService({
  name: "channel-sequencer",
  migrations: [actorKeyMigrations, channelSequencerMigrations],
  async start({ config, sql, logger }) {
    const settings = readConfig(channelSequencerConfigSpec);
    const bus = await openServiceBus({
      clientId: "channel-sequencer",
      topics: [TopicNames.channelInbox, TopicNames.deliveryRequests],
      onInProcess: () =>
        logger.warn("KAFKA_BROKERS is not set: the sequencer consumes an in-process bus that nothing feeds"),
    });
    const ctx = createChannelSequencerContext({ config, sql, bus, logger, settings });
    const workers = await startChannelSequencerWorkers(ctx);
    // Released in reverse: workers first (finished work committed), then the outbound client, the bus.
    return {
      routers: [channelSequencerRouter(ctx)],
      closers: [() => bus.close(), () => ctx.close(), () => workers.stop()],
    };
  },
});
