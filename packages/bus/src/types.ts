/**
 * The bus interface shared by every adapter (in-process and Kafka).
 *
 * Semantics every adapter guarantees (checked by the contract suite in `contract.ts`):
 * - each topic has N partitions; a record's key picks its partition with Kafka's murmur2 partitioner;
 * - within one consumer group a partition is handled by one member, one handler call at a time, in offset
 *   order; a handler may answer `pending` to let the next record start while it finishes in the background;
 * - every consumer group receives every record; members of one group split the partitions;
 * - a record's offset is committed only after its handler finished (or its retry / dead-letter copy was
 *   published), and only once every earlier record's has (a pending record holds back the commit of the
 *   ones after it), so a handler that throws or a member that stops before the commit leads to
 *   redelivery (at-least-once);
 * - `retry` (or a thrown error) republishes the record to `<topic>.retry.<n>`, handled again after the
 *   n-th delay of the retry policy; after the last retry, or on `dlq`, it goes to `<topic>.dead`.
 *
 * Only types: the functions on handler answers are in `handler-answers.ts`.
 */

/** One record as handed to a handler. */
export interface BusRecord {
  /** The logical topic the record was published to (also for records coming back from a retry topic). */
  topic: string;
  /** The topic the record was actually read from: `topic` itself or one of its retry topics. */
  sourceTopic: string;
  key: string;
  value: Uint8Array;
  /** Publisher headers (trace context and the like) plus the bus's own `bus-*` headers on retried records. */
  headers: Record<string, string>;
  /** Partition of `sourceTopic`. */
  partition: number;
  /** Offset in `sourceTopic`'s partition, as a decimal string (Kafka offsets exceed 2^53 in theory). */
  offset: string;
  /** 1 on the first delivery, 2 on the first retry, and so on. */
  attempt: number;
}

/** What a handler decided about a record. A handler that throws counts as `retry`. */
export type HandlerOutcome =
  | { kind: "ok" }
  | { kind: "drop"; reason: string }
  | { kind: "dlq"; reason: string }
  | { kind: "retry"; reason: string };

/**
 * The handler did in record order what must happen in record order (state changes, publishes, which
 * the bus sends in call order) and finishes the rest in the background, typically waiting for the
 * brokers' acknowledgement of those publishes. The member starts the next record's handler at once, so
 * one partition's round trips overlap instead of adding up. `settled` decides the record's fate as a
 * settled handler's outcome would (a rejection counts as `retry`); the record's offset is committed once
 * it and every earlier record settled. A member keeps at most `maxPendingPerPartition` (bus option,
 * default 64) pending records per partition and waits for the oldest before handling more.
 */
export interface PendingOutcome {
  kind: "pending";
  settled: Promise<HandlerOutcome>;
}

/** A message to publish. Records with the same key land on the same partition and keep their order. */
export interface BusMessage {
  key: string;
  value: Uint8Array;
  headers?: Record<string, string>;
}

/** Delays before each retry: `delaysMs[0]` before attempt 2, `delaysMs[1]` before attempt 3, ... */
export interface RetryPolicy {
  delaysMs: readonly number[];
}

export type RecordHandler = (record: BusRecord) => Promise<HandlerOutcome | PendingOutcome>;

export interface SubscribeOptions {
  /** Consumer group: each group receives every record once; members of a group split the partitions. */
  groupId: string;
  topics: string[];
  handle: RecordHandler;
  /** Overrides the bus's default retry policy for this subscription. */
  retry?: RetryPolicy;
}

export interface Subscription {
  /**
   * Stops fetching and waits for in-flight handlers. Records whose handler finishes after `stop()` was
   * called are not committed: the next member of the group handles them again.
   */
  stop(): Promise<void>;
}

/**
 * How a subscription's consumer that crashed is started again (both adapters). A crash is an error
 * the member cannot handle itself: on Kafka the client giving up (a broker restart, a lost group
 * coordinator), on either adapter a handler answering something that is not an outcome. A handler
 * that throws is no crash: its record is retried.
 */
export interface ConsumerRestartPolicy {
  /** Crashes in a row that are restarted; at the next one the consumer gives up (default 10). */
  maxRestarts: number;
  /** Delay before the first restart, doubled for each further crash in a row (default 1 s). */
  initialDelayMs: number;
  /** Longest delay before a restart (default 30 s). */
  maxDelayMs: number;
  /** A consumer that ran this long since its last start counts its next crash as the first (default 60 s). */
  resetAfterMs: number;
}

/** What a subscription's consumer is doing. */
export type ConsumerState =
  | { kind: "running" }
  /** Crashed `crashes` times in a row and waits for, or is in, its next start. */
  | { kind: "restarting"; crashes: number; error: string }
  /** Crashed once more than its policy restarts: it stays down until the process restarts. */
  | { kind: "failed"; crashes: number; error: string };

export interface ConsumerStatus {
  groupId: string;
  /** The subscription's logical topics. */
  topics: readonly string[];
  state: ConsumerState;
}

/** Told to the bus's `onConsumerEvent` option, for logs and metrics. */
export type ConsumerEvent =
  | {
      kind: "crashed";
      groupId: string;
      topics: readonly string[];
      error: Error;
      /** Crashes in a row, this one included. */
      crashes: number;
      restartInMs: number;
    }
  | { kind: "restarted"; groupId: string; topics: readonly string[]; crashes: number }
  | { kind: "gaveUp"; groupId: string; topics: readonly string[]; error: Error; crashes: number };

export interface Bus {
  publish(topic: string, messages: BusMessage[]): Promise<void>;
  /** Resolves once the member has joined its group and holds its share of the partitions. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Stops every subscription of this bus and releases timers and connections. */
  close(): Promise<void>;
}

/** A bus that tells how its consumers are doing (both adapters are). */
export interface MonitoredBus extends Bus {
  /** The state of every subscription's consumer that was not stopped, for health checks. */
  consumers(): ConsumerStatus[];
}
