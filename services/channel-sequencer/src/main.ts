import "reflect-metadata";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { openServiceBus } from "@mimi/bus";
import { runService } from "@mimi/provider-config";
import { parse, readConfig } from "@mimi/service-kit";
import { TopicNames } from "@mimi/topics";
import { z } from "zod";
import { channelSequencerConfigSpec } from "./config.js";
import { createChannelSequencerContext } from "./context.js";
import { channelSequencerMigrations } from "./migrations.js";
import { channelSequencerRouter } from "./router.js";
import { startChannelSequencerWorkers } from "./workers.js";

/** Settings only the split deployment needs (the standalone process wires the bus in-process). */
const splitDeploymentSpec = {
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    schema: parse.list(),
    default: "",
    description: "comma-separated Kafka brokers; empty runs an in-process bus (a single-process trial)",
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

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService({
  name: "channel-sequencer",
  migrations: [actorKeyMigrations, channelSequencerMigrations],
  async start({ config, sql, logger }) {
    const settings = readConfig(channelSequencerConfigSpec);
    const deployment = readConfig(splitDeploymentSpec);
    const bus = await openServiceBus({
      brokers: deployment.kafkaBrokers,
      namespace: deployment.kafkaTopicPrefix,
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
