import { parse, readConfig } from "@mimi/service-kit";
import { z } from "zod";
import { createInProcessBus } from "./in-process";
import { createKafkaBus } from "./kafka";
import type { Bus } from "./types";

/** The bus settings of a separately deployed service, read from its environment. */
export const serviceBusConfigSpec = {
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

/**
 * The bus a separately deployed service uses: Kafka when `KAFKA_BROKERS` is set, otherwise an
 * in-process bus (a single-process trial), which `onInProcess` is told about so the service can
 * warn that nothing else will read or feed it. A bad setting throws a ConfigError naming it.
 */
export async function openServiceBus(options: {
  clientId: string;
  topics: string[];
  onInProcess: () => void;
  env?: Record<string, string | undefined>;
}): Promise<Bus> {
  const settings = readConfig(serviceBusConfigSpec, options.env ?? process.env);
  if (settings.kafkaBrokers.length === 0) {
    options.onInProcess();
    return createInProcessBus();
  }
  return createKafkaBus({
    brokers: settings.kafkaBrokers,
    clientId: options.clientId,
    namespace: settings.kafkaTopicPrefix,
    topics: options.topics,
  });
}
