import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
  serviceBus,
} from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { TopicNames } from "@mimi/topics";
import { channelSequencerConfigSpec } from "./config.js";
import { type ChannelSequencerSettings, createChannelSequencerContext } from "./context.js";
import { channelSequencerMigrations } from "./migrations.js";
import { channelSequencerRouter } from "./router.js";
import { startChannelSequencerWorkers } from "./workers.js";

/**
 * The channel sequencer, built: its workers consume `channel.inbox` and publish delivery requests.
 * Shutdown stops them (finished work committed), then releases the outbound client, then its own bus.
 */
export function createChannelSequencerService(
  deps: ServiceDeps,
  settings: ChannelSequencerSettings,
): Promise<ProviderService> {
  return buildService(deps.logger, async (stack) => {
    const bus = await serviceBus(deps, stack, {
      clientId: "channel-sequencer",
      topics: [TopicNames.channelInbox, TopicNames.deliveryRequests],
      onInProcess: () =>
        deps.logger.warn(
          "KAFKA_BROKERS is not set: the sequencer consumes an in-process bus that nothing feeds",
        ),
    });
    const ctx = createChannelSequencerContext({
      config: deps.config,
      sql: deps.sql,
      bus,
      logger: deps.logger,
      settings,
    });
    stack.defer(() => ctx.close());
    return {
      routers: [channelSequencerRouter(ctx)],
      startWorkers: () => startChannelSequencerWorkers(ctx),
    };
  });
}

export const channelSequencerService: ServiceDefinition<ChannelSequencerSettings> = {
  name: "channel-sequencer",
  // Actor keys: every channel is an actor with its own key.
  migrations: [actorKeyMigrations, channelSequencerMigrations],
  readSettings: (env) => readConfig(channelSequencerConfigSpec, env),
  create: createChannelSequencerService,
};
