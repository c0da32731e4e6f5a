/**
 * The Kafka adapter's consumer loop over one fetched batch of one partition, without kafkajs: the
 * adapter (`kafka.ts`) hands over the batch's messages and the consumer's operations as small ports,
 * so the at-least-once rules are unit-tested against a fake batch (`kafka-partition-loop.test.ts`).
 *
 * - Records are handed to the handler one at a time, in offset order. A `pending` answer lets the next
 *   record start; at most `maxPending` records of the partition are pending, and the loop waits,
 *   heartbeating, for the oldest before handling more.
 * - Offsets are committed only over the settled prefix (`SettlementWindow`): when the batch is done
 *   (once every record of it settled), every `commitEveryRecords` records, and before leaving the
 *   batch early (a retry not due yet pauses the partition, the member stops, the partition moves).
 * - `retry`/`dlq` (or a throw, or a pending answer's rejection) publish the record's retry or dead
 *   copy (`planOutcome`) before the record counts as settled.
 * - A pending record whose copy cannot be published is not committed: the loop commits what settled
 *   before it and rewinds the partition to it (`seek`), so it and the records after it are read again.
 */
import { unusableAnswerError } from "./consumer-supervision";
import { isHandlerAnswer, settledOutcome } from "./handler-answers";
import { handledRecordOf, planOutcome, readiness, reasonFromError, type SourceTopic } from "./routing";
import { SettlementWindow, type WindowEntry } from "./settlement-window";
import type { BusMessage, BusRecord, HandlerOutcome, PendingOutcome, RetryPolicy } from "./types";

/** Record headers as kafkajs hands them: Buffers, or arrays of them when a name repeats. */
export type FetchedHeaders = Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;

/** What the loop reads of a fetched record (kafkajs's `KafkaMessage` is one). */
export interface FetchedMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: FetchedHeaders;
}

/** One fetched batch: consecutive records of one partition of one of the subscription's topics. */
export interface FetchedBatch {
  readonly source: SourceTopic;
  readonly partition: number;
  readonly messages: readonly FetchedMessage[];
}

/** What the loop does through its subscription; the same for every batch. */
export interface SubscriptionPorts {
  /** Runs the subscription's handler on a record; a rejection counts as `retry`. */
  handle(record: BusRecord): Promise<HandlerOutcome | PendingOutcome>;
  /** Publishes a retry or dead-letter copy; resolves once the brokers acknowledged it. */
  publish(topic: string, message: BusMessage): Promise<void>;
  /** Epoch milliseconds, for retry due times. */
  now(): number;
}

/** What the loop does through the consumer that fetched the batch (kafkajs's `EachBatchPayload`, `seek`). */
export interface BatchPorts {
  /** Commits the partition's position: `offset` is the first record not handled yet. */
  commit(offset: string): Promise<void>;
  /** The record was handed over (or skipped): the partition's next fetch starts after it. */
  resolveOffset(offset: string): void;
  /** Tells the group coordinator the member is alive (kafkajs sends it at most once per interval). */
  heartbeat(): Promise<void>;
  /** The partition's next fetch starts at `offset`. */
  seek(offset: string): void;
  /** Fetches nothing more of the partition for `delayMs`. */
  pauseFor(delayMs: number): void;
  /** False once the member is stopping. */
  isRunning(): boolean;
  /** True once a rebalance may have given the partition to another member. */
  isStale(): boolean;
}

/** Defaults of the Kafka adapter's `commitEveryRecords` and `maxPendingPerPartition`. */
export const DEFAULT_COMMIT_EVERY_RECORDS = 100;
export const DEFAULT_MAX_PENDING_PER_PARTITION = 64;

export interface PartitionLoopSettings {
  readonly groupId: string;
  readonly policy: RetryPolicy;
  /** Pending records of the partition at most; the loop handles no more until one settles. */
  readonly maxPending: number;
  /** Records handled between two commits at most within a batch. */
  readonly commitEveryRecords: number;
  /** How often the loop heartbeats while it waits for pending records. */
  readonly heartbeatIntervalMs: number;
}

/** Runs a subscription's fetched batches, one {@link run} per batch (kafkajs's `eachBatch`). */
export class PartitionBatchRunner {
  constructor(
    private readonly settings: PartitionLoopSettings,
    private readonly subscription: SubscriptionPorts,
  ) {}

  /**
   * Handles `batch` to its end, or until the loop leaves it: a retry record not due yet (the partition
   * pauses), the member stopping, the partition moving, a rewind. Rejects when the handler answers
   * something that is not an outcome (`unusableAnswerError`): that crashes the consumer.
   */
  run(batch: FetchedBatch, consumer: BatchPorts): Promise<void> {
    return new BatchRun(this.settings, this.subscription, batch, consumer).run();
  }
}

/** The state of one batch: its settlement window and what is still to commit. */
class BatchRun {
  private readonly window = new SettlementWindow();
  /** The offset after the settled prefix, not yet committed. */
  private uncommitted: string | undefined;
  private handledSinceCommit = 0;

  constructor(
    private readonly settings: PartitionLoopSettings,
    private readonly subscription: SubscriptionPorts,
    private readonly batch: FetchedBatch,
    private readonly consumer: BatchPorts,
  ) {}

  async run(): Promise<void> {
    for (const message of this.batch.messages) {
      if (!this.stillOwned() || !(await this.pendingBelow(this.settings.maxPending))) {
        await this.commitBeforeLeaving();
        return;
      }
      if (await this.rewoundAfterFailure()) return;
      if (!(await this.take(message))) return;
      this.consumer.resolveOffset(message.offset);
      this.handledSinceCommit += 1;
      if (this.handledSinceCommit >= this.settings.commitEveryRecords) await this.commit();
      await this.consumer.heartbeat();
    }
    if (await this.settledEverything()) await this.commit();
  }

  /** Handles, skips or holds back one record; false when the loop leaves the batch at it. */
  private async take(message: FetchedMessage): Promise<boolean> {
    const headers = stringHeaders(message.headers);
    const { source, partition } = this.batch;
    const ready = readiness(source, headers, this.settings.groupId, this.subscription.now());
    if (ready.kind === "skip") {
      this.window.add(message.offset, true);
      return true;
    }
    if (ready.kind === "wait") {
      // Hold this partition until the retry is due; its offset stays unresolved, so the record is
      // fetched again once the partition resumes. Records pending before it settle first.
      if (!(await this.settledEverything())) return false;
      await this.commitBeforeLeaving();
      this.consumer.pauseFor(ready.dueAtMs - this.subscription.now());
      return false;
    }
    const record = toBusRecord(source, partition, message, headers, ready.attempt);
    let answer: HandlerOutcome | PendingOutcome;
    try {
      answer = await this.subscription.handle(record);
    } catch (error) {
      answer = { kind: "retry", reason: reasonFromError(error) };
    }
    // Nothing the bus can route: the batch fails and kafkajs crashes the consumer (it does not retry an
    // error that is not Kafka's), which the subscription then restarts.
    if (!isHandlerAnswer(answer)) throw unusableAnswerError(this.settings.groupId, answer);
    // A member that is stopping leaves this record uncommitted: the next owner handles it again.
    if (!this.consumer.isRunning()) {
      await this.commitBeforeLeaving();
      return false;
    }
    if (answer.kind === "pending") {
      this.settleLater(record, this.window.add(message.offset, false), answer);
    } else {
      await this.carryOut(record, answer);
      this.window.add(message.offset, true);
    }
    return true;
  }

  /** Publishes the record's retry or dead copy when its outcome asks for one. */
  private async carryOut(record: BusRecord, outcome: HandlerOutcome): Promise<void> {
    const { groupId, policy } = this.settings;
    const plan = planOutcome(handledRecordOf(record), outcome, groupId, policy, this.subscription.now());
    if (plan.kind === "forward") await this.subscription.publish(plan.topic, plan.message);
  }

  private settleLater(record: BusRecord, entry: WindowEntry, pending: PendingOutcome): void {
    settledOutcome(pending)
      .then(async (outcome) => {
        await this.carryOut(record, outcome);
        this.window.settle(entry);
      })
      .catch((error: unknown) => this.window.fail(entry, error));
  }

  private async commit(): Promise<void> {
    const last = this.window.takeSettledPrefix();
    if (last !== undefined) this.uncommitted = (BigInt(last) + 1n).toString();
    if (this.uncommitted === undefined) return;
    const offset = this.uncommitted;
    this.uncommitted = undefined;
    this.handledSinceCommit = 0;
    await this.consumer.commit(offset);
  }

  /**
   * Leaving the batch early (a pause, a stop, a rebalance): what settled is committed if the member
   * still can; otherwise the next owner handles those records again.
   */
  private async commitBeforeLeaving(): Promise<void> {
    if (this.consumer.isStale()) return;
    try {
      await this.commit();
    } catch {
      // The group moved on; redelivery covers it.
    }
  }

  private stillOwned(): boolean {
    return this.consumer.isRunning() && !this.consumer.isStale();
  }

  /**
   * Waits, heartbeating, until fewer than `below` records are pending; false when the member stopped or
   * lost the partition meanwhile.
   */
  private async pendingBelow(below: number): Promise<boolean> {
    while (this.window.pending >= below) {
      await this.window.whenPendingBelow(below, this.settings.heartbeatIntervalMs);
      if (!this.stillOwned()) return false;
      await this.consumer.heartbeat();
    }
    return true;
  }

  /**
   * A pending record whose retry copy could not be published: everything from it on is read again (the
   * handlers are idempotent), after committing what settled before it.
   */
  private async rewoundAfterFailure(): Promise<boolean> {
    const failure = this.window.failure;
    if (failure === undefined) return false;
    await this.commitBeforeLeaving();
    this.consumer.seek(failure.offset);
    return true;
  }

  /**
   * Before this batch ends (the next one may commit past its records): every record settles, and a
   * failed one rewinds the partition. False when the loop leaves the batch instead.
   */
  private async settledEverything(): Promise<boolean> {
    if (!(await this.pendingBelow(1))) {
      await this.commitBeforeLeaving();
      return false;
    }
    return !(await this.rewoundAfterFailure());
  }
}

function toBusRecord(
  source: SourceTopic,
  partition: number,
  message: FetchedMessage,
  headers: Record<string, string>,
  attempt: number,
): BusRecord {
  return {
    topic: source.logicalTopic,
    sourceTopic: source.name,
    key: message.key ? message.key.toString("utf8") : "",
    value: message.value ? new Uint8Array(message.value) : new Uint8Array(),
    headers,
    partition,
    offset: message.offset,
    attempt,
  };
}

/** The bus's headers are UTF-8 strings; of a repeated name the last value counts. */
function stringHeaders(headers: FetchedHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) result[name] = value.toString();
  }
  return result;
}
