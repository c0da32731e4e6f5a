import { openServiceBus } from "@mimi/bus";
import { runService } from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { TopicNames } from "@mimi/topics";
import { inboxIngestConfigSpec } from "./config.js";
import { createInboxIngestContext } from "./context.js";
import { inboxIngestMigrations } from "./migrations.js";
import { inboxIngestRouter } from "./router.js";
import { startInboxIngestWorkers } from "./workers.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService({
  name: "inbox-ingest",
  migrations: [inboxIngestMigrations],
  async start({ config, sql, logger, metrics }) {
    const settings = readConfig(inboxIngestConfigSpec);
    const bus = await openServiceBus({
      clientId: "inbox-ingest",
      topics: [TopicNames.channelInbox, TopicNames.userInbox, TopicNames.deliveryRequests],
      onInProcess: () =>
        logger.warn("KAFKA_BROKERS is not set: activities go to an in-process bus that nothing consumes"),
    });
    const ctx = createInboxIngestContext({ config, sql, bus, logger, metrics, settings });
    const workers = await startInboxIngestWorkers(ctx);
    // Released in reverse: workers, then the outbound client, then the bus.
    return {
      routers: [inboxIngestRouter(ctx)],
      closers: [() => bus.close(), () => ctx.close(), () => workers.stop()],
    };
  },
});
