import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
  serviceBus,
} from "@mimi/provider-config";
import { openServiceRateLimiters } from "@mimi/rate-limits";
import { readConfig } from "@mimi/service-kit";
import { TopicNames } from "@mimi/topics";
import { inboxIngestConfigSpec } from "./config.js";
import { createInboxIngestContext, type InboxIngestSettings } from "./context.js";
import { inboxIngestMigrations } from "./migrations.js";
import { inboxIngestRouter } from "./router.js";
import { startInboxIngestWorkers } from "./workers.js";

/**
 * inbox-ingest, built: the inboxes and outboxes, publishing to `channel.inbox`, `user.inbox` and
 * `delivery.requests`; its one worker prunes old dedupe keys. Channels are asked of
 * channel-sequencer's read module (the context's default ports). Rate limits count in Redis when
 * REDIS_URL is set. Shutdown stops the worker, then releases the outbound client, then the limiters'
 * Redis, then its own bus.
 */
export function createInboxIngestService(
  deps: ServiceDeps,
  settings: InboxIngestSettings,
): Promise<ProviderService> {
  return buildService(deps.logger, async (stack) => {
    const bus = await serviceBus(deps, stack, {
      clientId: "inbox-ingest",
      topics: [TopicNames.channelInbox, TopicNames.userInbox, TopicNames.deliveryRequests],
      onInProcess: () =>
        deps.logger.warn(
          "KAFKA_BROKERS is not set: activities go to an in-process bus that nothing consumes",
        ),
    });
    const rateLimiters = openServiceRateLimiters(settings, {
      domain: deps.config.domain,
      logger: deps.logger,
      replicated: deps.deployment.kind === "split",
    });
    stack.defer(() => rateLimiters.close());
    const ctx = createInboxIngestContext({
      config: deps.config,
      sql: deps.sql,
      bus,
      logger: deps.logger,
      metrics: deps.metrics,
      settings,
    });
    stack.defer(() => ctx.close());
    return {
      routers: [inboxIngestRouter(ctx, { rateLimiters })],
      startWorkers: () => startInboxIngestWorkers(ctx),
    };
  });
}

export const inboxIngestService: ServiceDefinition<InboxIngestSettings> = {
  name: "inbox-ingest",
  migrations: [inboxIngestMigrations],
  readSettings: (env) => readConfig(inboxIngestConfigSpec, env),
  create: createInboxIngestService,
};
