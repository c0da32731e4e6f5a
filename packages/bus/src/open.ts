import {
  ConfigError,
  currentServiceRuntime,
  parse,
  readConfig,
  type ServiceRuntime,
} from "@mimi/service-kit";
import { z } from "zod";
import { consumersHealth } from "./consumer-supervision";
import { createInProcessBus } from "./in-process";
import { createKafkaBus } from "./kafka";
import type { ConsumerEvent, ConsumerRestartPolicy, MonitoredBus } from "./types";

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
  kafkaSessionTimeoutMs: {
    env: "MIMI_KAFKA_SESSION_TIMEOUT_MS",
    schema: parse.positiveInt(),
    default: "10000",
    description:
      "how long Kafka waits for a consumer's heartbeat before its partitions go to the other members (hand-over after a killed process); within the broker's group.min/max.session.timeout.ms",
  },
  kafkaHeartbeatIntervalMs: {
    env: "MIMI_KAFKA_HEARTBEAT_INTERVAL_MS",
    schema: parse.positiveInt(),
    default: "3000",
    description: "how often a consumer heartbeats; below MIMI_KAFKA_SESSION_TIMEOUT_MS, about a third of it",
  },
  kafkaConnectionTimeoutMs: {
    env: "MIMI_KAFKA_CONNECTION_TIMEOUT_MS",
    schema: parse.positiveInt(),
    default: "10000",
    description: "how long one connection to a broker may take, name lookup included",
  },
  kafkaStartupDeadlineMs: {
    env: "MIMI_KAFKA_STARTUP_DEADLINE_MS",
    schema: parse.nonNegativeInt(),
    default: "120000",
    description:
      "how long a starting service keeps retrying to reach the brokers (each failure logged) before it exits",
  },
  consumerRestarts: {
    env: "MIMI_BUS_CONSUMER_RESTARTS",
    schema: parse.nonNegativeInt(),
    default: "10",
    description:
      "crashes in a row after which a bus consumer is still restarted; at the next one it gives up and /healthz fails",
  },
  consumerRestartDelayMs: {
    env: "MIMI_BUS_CONSUMER_RESTART_DELAY_MS",
    schema: parse.nonNegativeInt(),
    default: "1000",
    description: "delay before a crashed bus consumer restarts, doubled for each further crash in a row",
  },
  consumerRestartMaxDelayMs: {
    env: "MIMI_BUS_CONSUMER_RESTART_MAX_DELAY_MS",
    schema: parse.nonNegativeInt(),
    default: "30000",
    description: "longest delay before a crashed bus consumer restarts",
  },
};

/** Name of the bus's component in the service's health registry (`/readyz`, `/healthz`). */
export const BUS_HEALTH_COMPONENT = "bus";

/**
 * The bus a separately deployed service uses: Kafka when `KAFKA_BROKERS` is set, otherwise an
 * in-process bus (a single-process trial), which `onInProcess` is told about so the service can
 * warn that nothing else will read or feed it. A bad setting throws a ConfigError naming it.
 *
 * The bus reports through the service runtime (`runtime`, by default the one `runService` provides
 * while the service starts): its consumers' health as the `bus` component (not ready while one
 * restarts after a crash, not live once one gave up), a log line and metrics per crash
 * (`bus_consumer_crashes_total`, `bus_consumer_down`, labelled with the group and its topics).
 */
export async function openServiceBus(options: {
  clientId: string;
  topics: string[];
  onInProcess: () => void;
  env?: Record<string, string | undefined>;
  runtime?: ServiceRuntime;
}): Promise<MonitoredBus> {
  const settings = readConfig(serviceBusConfigSpec, options.env ?? process.env);
  if (settings.kafkaHeartbeatIntervalMs >= settings.kafkaSessionTimeoutMs) {
    throw new ConfigError(
      serviceBusConfigSpec.kafkaHeartbeatIntervalMs.env,
      `must be below ${serviceBusConfigSpec.kafkaSessionTimeoutMs.env} (${settings.kafkaSessionTimeoutMs})`,
    );
  }
  if (settings.consumerRestartMaxDelayMs < settings.consumerRestartDelayMs) {
    throw new ConfigError(
      serviceBusConfigSpec.consumerRestartMaxDelayMs.env,
      `must not be below ${serviceBusConfigSpec.consumerRestartDelayMs.env} (${settings.consumerRestartDelayMs})`,
    );
  }
  const runtime = options.runtime ?? currentServiceRuntime();
  if (!runtime) {
    throw new Error(
      "openServiceBus reports consumer crashes and health through the service runtime: call it while runService starts the service, or pass `runtime`",
    );
  }
  const restart: Partial<ConsumerRestartPolicy> = {
    maxRestarts: settings.consumerRestarts,
    initialDelayMs: settings.consumerRestartDelayMs,
    maxDelayMs: settings.consumerRestartMaxDelayMs,
  };
  const onConsumerEvent = consumerEventReporter(runtime);
  let bus: MonitoredBus;
  if (settings.kafkaBrokers.length === 0) {
    options.onInProcess();
    bus = createInProcessBus({ restart, onConsumerEvent });
  } else {
    bus = await createKafkaBus({
      brokers: settings.kafkaBrokers,
      clientId: options.clientId,
      namespace: settings.kafkaTopicPrefix,
      topics: options.topics,
      sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
      heartbeatIntervalMs: settings.kafkaHeartbeatIntervalMs,
      connectionTimeoutMs: settings.kafkaConnectionTimeoutMs,
      startupDeadlineMs: settings.kafkaStartupDeadlineMs,
      onConnectRetry: ({ attempt, error, retryInMs }) =>
        runtime.logger.warn(
          { err: error, attempt, retryInMs, brokers: settings.kafkaBrokers },
          "Kafka brokers not reachable yet; retrying",
        ),
      restart,
      onConsumerEvent,
    });
  }
  const unregister = runtime.health.register(BUS_HEALTH_COMPONENT, () => consumersHealth(bus.consumers()));
  return {
    publish: (topic, messages) => bus.publish(topic, messages),
    subscribe: (subscribeOptions) => bus.subscribe(subscribeOptions),
    consumers: () => bus.consumers(),
    async close() {
      try {
        await bus.close();
      } finally {
        unregister();
      }
    },
  };
}

/** Logs each consumer crash, restart and surrender with its group and topics, and counts them. */
export function consumerEventReporter({ logger, metrics }: ServiceRuntime): (event: ConsumerEvent) => void {
  const crashes = metrics.counter(
    "bus_consumer_crashes_total",
    "bus consumer crashes (each is restarted or, past the restart limit, given up)",
    ["group", "topic"],
  );
  const down = metrics.gauge(
    "bus_consumer_down",
    "1 while a bus consumer is down after a crash (restarting or given up), else 0",
    ["group", "topic"],
  );
  return (event) => {
    const labels = { group: event.groupId, topic: event.topics.join(",") };
    const fields = { group: event.groupId, topics: event.topics, crashes: event.crashes };
    switch (event.kind) {
      case "crashed":
        crashes.inc(labels);
        down.set(labels, 1);
        logger.error(
          { ...fields, err: event.error, restartInMs: event.restartInMs },
          "bus consumer crashed; restarting it",
        );
        return;
      case "gaveUp":
        crashes.inc(labels);
        down.set(labels, 1);
        logger.error(
          { ...fields, err: event.error },
          "bus consumer crashed more often in a row than it is restarted; it stays down and /healthz fails",
        );
        return;
      case "restarted":
        down.set(labels, 0);
        logger.info(fields, "bus consumer restarted");
        return;
    }
  };
}
