/**
 * The Kafka adapter (kafkajs). Topics, their retry topics and dead-letter topic are created through the
 * admin client before first use; the producer is idempotent and partitions keys with Kafka's default
 * (murmur2) partitioner, and concurrent publishes share one producer request (`publish-batcher.ts`);
 * consumers run with auto-commit off and commit a record's offset only after its handler finished (a
 * `pending` one: its outcome settled), or after its retry / dead-letter copy was acknowledged by the
 * brokers, and never past a record that has not. That loop over a fetched batch is
 * `PartitionBatchRunner` (`kafka-partition-loop.ts`); this module wires it to kafkajs.
 */
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  logLevel as KafkaLogLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import { connectWithRetry } from "./connect-retry";
import {
  asError,
  ConsumerSupervision,
  restartPolicyWith,
  type SupervisionOptions,
} from "./consumer-supervision";
import {
  DEFAULT_COMMIT_EVERY_RECORDS,
  DEFAULT_MAX_PENDING_PER_PARTITION,
  PartitionBatchRunner,
} from "./kafka-partition-loop";
import { KafkaSubscription, type StartingConsumer } from "./kafka-subscription";
import {
  backoffMs,
  createTopicsWithRetry,
  isTopicPropagationError,
  sleep,
  TopicProvisioner,
} from "./kafka-topics";
import { createPublishBatcher, type TopicBatch } from "./publish-batcher";
import { DEFAULT_RETRY_POLICY, sourceTopicsFor, topicsToProvision, validateRetryPolicy } from "./routing";
import { handleInSpan, withTraceContext } from "./trace";
import type {
  BusMessage,
  ConsumerStatus,
  MonitoredBus,
  RetryPolicy,
  SubscribeOptions,
  Subscription,
} from "./types";

export interface KafkaBusOptions extends SupervisionOptions {
  brokers: string[];
  clientId: string;
  /** Partitions of the topics the bus creates (default 6). Existing topics keep theirs. */
  partitions?: number;
  /** Replication factor of the topics the bus creates (default 1). */
  replicationFactor?: number;
  /** Retry delays used when a subscription gives none (default 1 s, 10 s, 60 s). */
  retryDelaysMs?: number[];
  /** Topics to create at startup, with their retry and dead-letter topics under the default policy. */
  topics?: string[];
  /** Partitions one member handles at the same time (default 3); each partition stays sequential. */
  partitionsConsumedConcurrently?: number;
  /**
   * How long the group coordinator waits for a member's heartbeat before it hands the member's
   * partitions to the others (default 10 s): the hand-over time after a member dies without leaving
   * (a killed process). A member that stops leaves its group, which rebalances at once.
   */
  sessionTimeoutMs?: number;
  /** How often a member heartbeats (default 3 s); below `sessionTimeoutMs`, about a third of it. */
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /**
   * Handled records whose offsets may wait for one commit (default 100). Offsets are committed when a
   * fetched batch is done, before a partition pauses or the member stops, and within a long batch
   * every this many records: one commit request per record would cap a partition at a few hundred
   * records a second. A crash redelivers at most this many handled records, which handlers tolerate
   * (at-least-once: they are idempotent).
   */
  commitEveryRecords?: number;
  /**
   * Records of one partition whose handler answered `pending` and whose outcome is not final (default
   * 64): the member handles no further record of that partition until one settles.
   */
  maxPendingPerPartition?: number;
  /** Longest a fetch waits for new records (default 500 ms): bounds how late a due retry starts. */
  maxWaitTimeMs?: number;
  /** How long `subscribe` waits for the member to join its group (default 60 s). */
  joinTimeoutMs?: number;
  /**
   * Prefix of every Kafka topic and consumer group this bus uses (default none), so that several
   * deployments can share one cluster: `"a."` makes `channel.inbox` the Kafka topic `a.channel.inbox`
   * and the group `channel-sequencer` the Kafka group `a.channel-sequencer`. Handlers still see the
   * unprefixed names.
   */
  namespace?: string;
  /** Attempts of a publish whose topic is still propagating to the broker (default 5). */
  publishAttempts?: number;
  /**
   * Concurrent publishes are sent together in one producer request (see `createPublishBatcher`):
   * records of one request at most (default 500).
   */
  maxBatchRecords?: number;
  /** Approximate bytes of one producer request at most (default 512 KiB). */
  maxBatchBytes?: number;
  /** kafkajs log level (default `logLevel.WARN`). */
  logLevel?: KafkaLogLevel;
  /**
   * How long one connection to a broker may take, name lookup included (default 10 s; kafkajs' own
   * 1 s fails wherever a resolver is slow).
   */
  connectionTimeoutMs?: number;
  /** How long the bus keeps trying to reach the brokers at start before it fails (default 120 s). */
  startupDeadlineMs?: number;
  /** Told about each failed start-up connection that will be retried (for a log line). */
  onConnectRetry?: (failure: { attempt: number; error: unknown; retryInMs: number }) => void;
}

/** Defaults of the group membership timings (see `KafkaBusOptions`). */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
/** Defaults of reaching the brokers (see `KafkaBusOptions`). */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
export const DEFAULT_STARTUP_DEADLINE_MS = 120_000;

export async function createKafkaBus(options: KafkaBusOptions): Promise<MonitoredBus> {
  const partitionCount = options.partitions ?? 6;
  const replicationFactor = options.replicationFactor ?? 1;
  const defaultPolicy: RetryPolicy = options.retryDelaysMs
    ? { delaysMs: [...options.retryDelaysMs] }
    : DEFAULT_RETRY_POLICY;
  const defaultValid = validateRetryPolicy(defaultPolicy);
  if (!defaultValid.ok) throw new RangeError(defaultValid.reason);

  const namespace = options.namespace ?? "";
  const kafkaName = (name: string) => `${namespace}${name}`;
  const publishAttempts = Math.max(1, options.publishAttempts ?? 5);
  const maxPending = Math.max(1, options.maxPendingPerPartition ?? DEFAULT_MAX_PENDING_PER_PARTITION);
  const restartPolicy = restartPolicyWith(options.restart);
  const onConsumerEvent = options.onConsumerEvent ?? (() => undefined);
  const joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new RangeError(
      `heartbeatIntervalMs (${heartbeatIntervalMs}) must be below sessionTimeoutMs (${sessionTimeoutMs})`,
    );
  }

  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: options.logLevel ?? KafkaLogLevel.WARN,
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
  });
  const admin: Admin = kafka.admin();
  const producer: Producer = kafka.producer({
    idempotent: true,
    // Idempotence keeps per-partition order across producer retries only with one request in flight.
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await connectWithRetry(
    async () => {
      await admin.connect();
      try {
        await producer.connect();
      } catch (error) {
        await admin.disconnect();
        throw error;
      }
    },
    { deadlineMs: options.startupDeadlineMs ?? DEFAULT_STARTUP_DEADLINE_MS },
    options.onConnectRetry ? { onRetry: options.onConnectRetry } : {},
  );

  const provisioner = new TopicProvisioner((missing) =>
    createTopicsWithRetry(admin, missing.map(kafkaName), partitionCount, replicationFactor),
  );
  const ensureTopics = (names: readonly string[]) => provisioner.ensure(names);
  const subscriptions = new Set<KafkaSubscription<Consumer>>();
  let closed = false;

  /** One producer request for a whole batch of publishes (see `createPublishBatcher`). */
  async function sendBatch(batch: readonly TopicBatch[]): Promise<void> {
    const request = {
      acks: -1,
      topicMessages: batch.map(({ topic, messages }) => ({
        topic: kafkaName(topic),
        messages: messages.map((message) => ({
          key: message.key,
          value: Buffer.from(message.value.buffer, message.value.byteOffset, message.value.byteLength),
          headers: message.headers ?? {},
        })),
      })),
    };
    // The producer's metadata can lag a topic created a moment ago (UNKNOWN_TOPIC_OR_PARTITION); the
    // idempotent producer makes a repeated send safe, and consumers dedupe anyway (at-least-once).
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.sendBatch(request);
        return;
      } catch (error) {
        if (attempt >= publishAttempts || !isTopicPropagationError(error)) throw error;
        await sleep(backoffMs(attempt));
      }
    }
  }
  const batcher = createPublishBatcher(sendBatch, {
    maxRecords: options.maxBatchRecords,
    maxBytes: options.maxBatchBytes,
  });

  /** Publishes still waiting for their topic, so `close` can wait for them. */
  const unsettled = new Set<Promise<void>>();
  let waitingForTopics = 0;

  /** Publishes once the topic exists; resolves when the brokers acknowledged these records. */
  function send(topic: string, messages: readonly BusMessage[]): Promise<void> {
    // Straight to the batcher when the topic exists and no earlier publish still waits for its
    // topic: the queue then holds every earlier publish, so this one cannot overtake any.
    if (waitingForTopics === 0 && provisioner.isCreated(topic)) return batcher.publish(topic, messages);
    waitingForTopics++;
    const sending = ensureTopics([topic]).then(
      () => {
        waitingForTopics--;
        return batcher.publish(topic, messages);
      },
      (error: unknown) => {
        waitingForTopics--;
        throw error;
      },
    );
    unsettled.add(sending);
    const settled = () => {
      unsettled.delete(sending);
    };
    sending.then(settled, settled);
    return sending;
  }

  if (options.topics && options.topics.length > 0) {
    await ensureTopics(topicsToProvision(options.topics, defaultPolicy));
  }

  async function subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
    if (closed) throw new Error("bus is closed");
    const policy = subscribeOptions.retry ?? defaultPolicy;
    const valid = validateRetryPolicy(policy);
    if (!valid.ok) throw new RangeError(valid.reason);
    const { groupId } = subscribeOptions;
    // Keyed by the Kafka topic name, which is what batches carry.
    const sources = new Map(
      sourceTopicsFor(subscribeOptions.topics, policy).map((source) => [kafkaName(source.name), source]),
    );
    await ensureTopics(topicsToProvision(subscribeOptions.topics, policy));

    const subscription: KafkaSubscription<Consumer> = new KafkaSubscription(
      { create: createConsumer, run: runConsumer, joinTimeoutMs },
      restartPolicy,
      new ConsumerSupervision(groupId, [...subscribeOptions.topics], restartPolicy, onConsumerEvent),
      () => subscriptions.delete(subscription),
    );

    const runner = new PartitionBatchRunner(
      {
        groupId,
        policy,
        maxPending,
        commitEveryRecords: Math.max(1, options.commitEveryRecords ?? DEFAULT_COMMIT_EVERY_RECORDS),
        heartbeatIntervalMs,
      },
      {
        handle: (record) => handleInSpan(record, groupId, () => subscribeOptions.handle(record)),
        publish: (topic, message) => send(topic, [message]),
        now: () => Date.now(),
      },
    );
    /** Handles one fetched batch on `consumer` (a restart brings a new consumer, which rewinds itself). */
    const handleBatch = async (consumer: Consumer, payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      const source = sources.get(batch.topic);
      if (!source) return;
      const { topic, partition } = batch;
      await runner.run(
        { source, partition, messages: batch.messages },
        {
          commit: (offset) =>
            payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] }),
          resolveOffset: (offset) => payload.resolveOffset(offset),
          heartbeat: () => payload.heartbeat(),
          seek: (offset) => consumer.seek({ topic, partition, offset }),
          pauseFor: (delayMs) => subscription.resumeLater(payload.pause(), delayMs),
          isRunning: () => payload.isRunning(),
          isStale: () => payload.isStale(),
        },
      );
    };

    /**
     * A consumer of the group, not started yet. A crash before it joined is its start failing (kafkajs
     * reports a failed start only as a crash); one after it joined goes to the subscription.
     */
    function createConsumer(onCrashAfterJoin: (error: Error) => void): StartingConsumer<Consumer> {
      const consumer = kafka.consumer({
        groupId: kafkaName(groupId),
        sessionTimeout: sessionTimeoutMs,
        heartbeatInterval: heartbeatIntervalMs,
        rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
        maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
        allowAutoTopicCreation: false,
        // The subscription restarts crashed consumers under its own policy and reports their health;
        // kafkajs's own restart (retriable errors only, unbounded, unreported) stays off.
        retry: { retries: 5, restartOnFailure: async () => false },
      });
      let phase: "starting" | "joined" = "starting";
      const joined = new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.GROUP_JOIN, () => {
          phase = "joined";
          resolve();
        });
        consumer.on(consumer.events.CRASH, (event) => {
          if (phase === "joined") onCrashAfterJoin(event.payload.error);
          else reject(event.payload.error);
        });
      });
      // Awaited by `runConsumer`, unless connecting failed before it got there.
      joined.catch(() => undefined);
      return { consumer, joined };
    }

    /** Connects, subscribes and runs a consumer; resolves once it joined the group within `timeoutMs`. */
    async function runConsumer(
      { consumer, joined }: StartingConsumer<Consumer>,
      timeoutMs: number,
      abandon: AbortSignal,
    ): Promise<void> {
      await consumer.connect();
      await consumer.subscribe({ topics: [...sources.keys()], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => handleBatch(consumer, payload),
      });
      await withTimeout(joined, timeoutMs, `consumer group ${groupId} did not form`, abandon);
    }

    subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.stop();
      throw error;
    }
    return subscription;
  }

  return {
    async publish(topic, messages) {
      if (closed) throw new Error("bus is closed");
      if (messages.length === 0) return;
      await send(topic, withTraceContext(messages));
    },
    subscribe,
    consumers(): ConsumerStatus[] {
      return [...subscriptions].map((subscription) => subscription.supervision.status());
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
      // Publishes accepted before close (and retry copies of stopping handlers) still go out.
      await Promise.allSettled([...unsettled]);
      await batcher.drain();
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}

/** `promise`, unless `ms` pass first or `abandon` is aborted: then it rejects. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string, abandon?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
    if (abandon) {
      onAbort = () => reject(asError(abandon.reason));
      if (abandon.aborted) onAbort();
      else abandon.addEventListener("abort", onAbort, { once: true });
    }
  });
  return Promise.race([promise, cut]).finally(() => {
    clearTimeout(timer);
    if (onAbort) abandon?.removeEventListener("abort", onAbort);
  });
}
