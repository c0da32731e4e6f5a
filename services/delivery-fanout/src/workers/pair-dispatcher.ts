import { AsyncResource } from "node:async_hooks";
import { type BusRecord, type HandlerOutcome, planOutcome, publisherHeaders } from "@mimi/bus";
import { BoundedCache } from "@mimi/service-kit";
import { type DeliveryJob, deliveryJobsTopic } from "@mimi/topics";
import type { PairKey } from "../adapters/held-pairs.js";
import type { DeliveryFanoutContext } from "../context.js";
import { mayOvertake } from "../domain/ordering.js";
import { type PairEffect, type PairEntry, PairQueue, type StoredRow } from "../domain/pair-queue.js";
import { DestinationQueues } from "./destination-queues.js";
import { DeliveryHeaders, SEND_GROUP } from "./headers.js";
import {
  attemptDelivery,
  type DeliveryAttemptOutcome,
  type JobDispatcher,
  recordDeadLetter,
} from "./send-jobs.js";

/** Runs work in the async context `resource` was created in. */
function runsInContext(resource: AsyncResource): <R>(work: () => Promise<R>) => Promise<R> {
  return (work) => resource.runInAsyncScope(work);
}

/** A delivery in a pair's queue: from the bus, or read back from the pair's stored backlog. */
interface QueuedDelivery {
  job: DeliveryJob;
  /** The `delivery.jobs` record value, stored as it was published. */
  payload: string;
  /** Publisher headers (trace context), stored with the job. */
  headers: Record<string, string>;
  /** Attempts made before the next one. */
  attemptsMade: number;
  /** From the bus: settles the record (once delivered, given up or stored). */
  settle: ((outcome: HandlerOutcome) => void) | undefined;
  /** Runs the delivery in the async context (trace) its record was handled in. */
  inContext: <R>(work: () => Promise<R>) => Promise<R>;
}

interface Pair extends PairKey {
  id: string;
  queue: PairQueue<QueuedDelivery>;
}

type Step = (queue: PairQueue<QueuedDelivery>) => PairEffect<QueuedDelivery>[];

export interface PairDispatcherOptions {
  /** Deliveries in memory at once (`MIMI_DELIVERY_SEND_WINDOW`); the bus waits while it is full. */
  capacity: number;
  /** Jobs of one pair in flight at once, and of one destination (`MIMI_DELIVERY_SENDS_PER_DESTINATION`). */
  window: number;
}

/** How long a pair seen flowing is trusted to still flow without asking the store again. */
const KNOWN_FLOWING_MS = 10_000;
const KNOWN_FLOWING_PAIRS = 100_000;
/** Stored jobs read at once per draining pair (at least twice the window). */
const LOAD_BATCH = 32;
const STORE_RETRY_FIRST_MS = 500;
const STORE_RETRY_MAX_MS = 30_000;

const decoder = new TextDecoder();

/**
 * Runs the pair queues (`domain/pair-queue.ts`) of the destinations whose `delivery.jobs` partitions
 * this replica holds: carries out their effects against the held-pair store and the network, and
 * reports the results back. Sends go through per-destination queues (`DestinationQueues`): at most
 * `window` application messages to one destination at once, every other activity alone. At most
 * `capacity` deliveries are in memory (accepted from the bus and not settled, or read from a backlog
 * and not finished); `accept` waits for room, which is how the bus is slowed down.
 *
 * A store operation that fails (the database is down) is retried with backoff; the pair waits, and so
 * do its records, which stay uncommitted. Stopping lets running sends and store operations finish,
 * starts no new drain, and leaves jobs that cannot finish without one unsettled, for the bus to
 * deliver again.
 */
export class PairDispatcher implements JobDispatcher {
  private readonly pairs = new Map<string, Pair>();
  /** Pairs last seen flowing, each trusted for `KNOWN_FLOWING_MS` (on the context's clock). */
  private readonly knownFlowing = new BoundedCache<string, true>({
    maxEntries: KNOWN_FLOWING_PAIRS,
    ttlMs: KNOWN_FLOWING_MS,
    now: () => this.ctx.now(),
  });
  private readonly destinations: DestinationQueues;
  private readonly loadBatch: number;
  private inMemory = 0;
  private reserved = 0;
  private readonly roomWaiters: Array<() => void> = [];
  /** Sends, store operations and their retry timers under way. */
  private busy = 0;
  private readonly quietWaiters: Array<() => void> = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(
    private readonly ctx: DeliveryFanoutContext,
    private readonly options: PairDispatcherOptions,
  ) {
    this.destinations = new DestinationQueues(options.capacity, options.window);
    this.loadBatch = Math.max(LOAD_BATCH, 2 * options.window);
  }

  /**
   * Accepts a job from the bus into its pair's queue once there is room. `settled` resolves with the
   * record's outcome; while stopping it never does (the record stays uncommitted).
   */
  async accept(
    record: BusRecord,
    job: DeliveryJob,
    destination: string,
    attempt: number,
  ): Promise<{ settled: Promise<HandlerOutcome> }> {
    if (!(await this.reserve(1))) return { settled: new Promise<HandlerOutcome>(() => {}) };
    this.reserved -= 1;
    let settle: (outcome: HandlerOutcome) => void = () => {};
    const settled = new Promise<HandlerOutcome>((resolve) => {
      settle = resolve;
    });
    const headers = publisherHeaders(record.headers);
    delete headers[DeliveryHeaders.attempt];
    const delivery: QueuedDelivery = {
      job,
      payload: decoder.decode(record.value),
      headers,
      attemptsMade: attempt - 1,
      settle,
      // The handler's context (its trace), not the one of whatever starts the send; a resource costs
      // less than `AsyncResource.bind`, which defines a deprecated property on each bound function.
      inContext: runsInContext(new AsyncResource("mimi.delivery")),
    };
    const pair = this.pairFor({ signer: job.signAs, destination }, "accept");
    this.apply(pair, (queue) => queue.accept(delivery, !mayOvertake(job.body)).effects);
    return { settled };
  }

  /** The pair's stored backlog is due. */
  release(key: PairKey): void {
    if (this.stopping) return;
    const pair = this.pairFor(key, "release");
    this.apply(pair, (queue) => queue.release());
  }

  /** Stops starting drains and waits for every send and store operation under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.retryTimers) {
      clearTimeout(timer);
      this.busy--;
    }
    this.retryTimers.clear();
    this.wakeRoom();
    if (this.busy === 0) return;
    await new Promise<void>((resolve) => this.quietWaiters.push(resolve));
  }

  private pairFor(key: PairKey, why: "accept" | "release"): Pair {
    const id = `${key.signer}\n${key.destination}`;
    const existing = this.pairs.get(id);
    if (existing) return existing;
    const knownFlowing = this.knownFlowing.has(id);
    this.knownFlowing.delete(id);
    // A release reads the backlog itself, so it needs no check first.
    const known = why === "release" || knownFlowing ? "flowing" : "unknown";
    const pair: Pair = { ...key, id, queue: new PairQueue<QueuedDelivery>(this.options.window, known) };
    this.pairs.set(id, pair);
    return pair;
  }

  /** Feeds one event to the pair's queue and carries out what it decides. */
  private apply(pair: Pair, step: Step): void {
    const before = pair.queue.size;
    const effects = step(pair.queue);
    const after = pair.queue.size;
    this.inMemory += after - before;
    if (after < before) this.wakeRoom();
    for (const effect of effects) this.carryOut(pair, effect);
    if (pair.queue.idle && this.pairs.get(pair.id) === pair) {
      this.pairs.delete(pair.id);
      if (pair.queue.mode === "flowing") this.knownFlowing.set(pair.id, true);
    }
  }

  private carryOut(pair: Pair, effect: PairEffect<QueuedDelivery>): void {
    switch (effect.kind) {
      case "send":
        this.send(pair, effect.entry);
        return;
      case "check":
        this.operate(pair, "check", async () => {
          const { held, lastOrdinal } = await this.ctx.heldPairs.check(pair);
          return (queue) => queue.checked(held, lastOrdinal);
        });
        return;
      case "persist":
        this.operate(pair, "persist", async () => {
          const assignedOrdinals = await this.ctx.heldPairs.persist(
            pair,
            effect.entries.map((entry) => ({
              ordinal: entry.ordinal,
              activityId: entry.payload.job.activityId,
              inbox: entry.payload.job.inbox,
              payload: entry.payload.payload,
              headers: entry.payload.headers,
              attempts: entry.payload.attemptsMade,
            })),
            effect.hold,
            this.ctx.now(),
          );
          const assigned = new Map<number, number | undefined>();
          effect.entries.forEach((entry, index) => {
            assigned.set(entry.id, assignedOrdinals[index]);
            // Stored (or stored already, by an earlier copy of the record): the record is done.
            entry.payload.settle?.({ kind: "ok" });
          });
          if (effect.hold) {
            this.ctx.logger.info(
              { signer: pair.signer, destination: pair.destination, reason: effect.hold.reason },
              "deliveries held until the destination takes the oldest one",
            );
          }
          return (queue) => queue.persisted(assigned);
        });
        return;
      case "load":
        this.load(pair, effect.afterOrdinal);
        return;
      case "unhold":
        this.operate(pair, "unhold", async () => {
          const done = await this.ctx.heldPairs.unhold(pair);
          return (queue) => queue.unheld(done);
        });
        return;
    }
  }

  private send(pair: Pair, entry: PairEntry<QueuedDelivery>): void {
    this.busy++;
    const work = async () => {
      let step: Step;
      try {
        step = await entry.payload.inContext(() => this.deliver(pair, entry));
      } catch (error) {
        // An unexpected failure (the database is down): the pair waits as after a failed POST.
        this.ctx.logger.error(
          { err: error, activityId: entry.payload.job.activityId, destination: pair.destination },
          "delivery failed unexpectedly; its pair is held",
        );
        const dueAtMs = this.ctx.now() + this.ctx.settings.retry.baseDelayMs;
        step = (queue) => queue.failed(entry.id, { dueAtMs, reason: "unexpected failure" });
      }
      this.busy--;
      this.apply(pair, step);
      this.checkQuiet();
    };
    void this.destinations.submit(pair.destination, work, { exclusive: entry.exclusive });
  }

  /** One attempt, then what it means for the stored backlog and the bus record. */
  private async deliver(pair: Pair, entry: PairEntry<QueuedDelivery>): Promise<Step> {
    const delivery = entry.payload;
    const attempt = delivery.attemptsMade + 1;
    const outcome: DeliveryAttemptOutcome = await attemptDelivery(
      this.ctx,
      delivery.job,
      pair.destination,
      attempt,
    );
    switch (outcome.kind) {
      case "delivered":
        if (entry.stored) await this.ctx.heldPairs.remove(pair, entry.ordinal);
        delivery.settle?.({ kind: "ok" });
        return (queue) => queue.finished(entry.id);
      case "dead":
        await recordDeadLetter(this.ctx, delivery.job, attempt, outcome.reason);
        if (entry.stored) {
          await this.publishDeadCopy(pair, delivery, attempt, outcome.reason);
          await this.ctx.heldPairs.remove(pair, entry.ordinal);
        }
        delivery.settle?.({ kind: "dlq", reason: outcome.reason });
        return (queue) => queue.finished(entry.id);
      case "failed":
        delivery.attemptsMade = attempt;
        if (entry.stored) await this.ctx.heldPairs.recordAttempts(pair, entry.ordinal, attempt);
        return (queue) => queue.failed(entry.id, outcome.hold);
      case "deferred":
        return (queue) => queue.failed(entry.id, outcome.hold);
    }
  }

  /** A stored job has no bus record to dead-letter: its copy goes to `delivery.jobs.dead` as the bus would put it. */
  private async publishDeadCopy(
    pair: Pair,
    delivery: QueuedDelivery,
    attempts: number,
    reason: string,
  ): Promise<void> {
    const plan = planOutcome(
      {
        logicalTopic: deliveryJobsTopic.name,
        key: pair.destination,
        value: new TextEncoder().encode(delivery.payload),
        headers: { ...delivery.headers, [DeliveryHeaders.attempt]: String(attempts) },
        attempt: attempts,
      },
      { kind: "dlq", reason },
      SEND_GROUP,
      { delaysMs: [] },
      this.ctx.now(),
    );
    if (plan.kind === "forward") await this.ctx.bus.publish(plan.topic, [plan.message]);
  }

  private load(pair: Pair, afterOrdinal: number | undefined): void {
    // While stopping no drain starts: the backlog stays stored for the next start.
    if (this.stopping) return;
    this.busy++;
    void this.reserveUpTo(this.loadBatch).then((limit) => {
      this.busy--;
      if (limit === 0) {
        this.checkQuiet();
        return;
      }
      this.operate(
        pair,
        "load",
        async () => {
          const stored = await this.ctx.heldPairs.load(pair, afterOrdinal, limit);
          const rows: StoredRow<QueuedDelivery>[] = [];
          let unreadable = 0;
          for (const row of stored) {
            const parsed = deliveryJobsTopic.parse({ value: new TextEncoder().encode(row.payload) });
            if (!parsed.ok) {
              // Written by this service, so never expected; dropped rather than blocking the pair.
              this.ctx.logger.error(
                { ...pair, ordinal: row.ordinal, reason: parsed.reason },
                "unreadable held job dropped",
              );
              await this.ctx.heldPairs.remove(pair, row.ordinal);
              unreadable++;
              continue;
            }
            rows.push({
              ordinal: row.ordinal,
              exclusive: !mayOvertake(parsed.value.body),
              payload: {
                job: parsed.value,
                payload: row.payload,
                headers: row.headers,
                attemptsMade: row.attempts,
                settle: undefined,
                inContext: (work) => work(),
              },
            });
          }
          return (queue) => {
            this.reserved -= limit;
            this.wakeRoom();
            return queue.loaded(rows, limit - unreadable);
          };
        },
        () => {
          this.reserved -= limit;
          this.wakeRoom();
        },
      );
    });
  }

  /**
   * Runs a store operation for the pair, retrying it with backoff while it fails; `onAbandon` runs
   * when stopping cuts the retries short.
   */
  private operate(
    pair: Pair,
    name: string,
    operation: () => Promise<Step>,
    onAbandon: () => void = () => {},
  ): void {
    this.busy++;
    const attempt = (failures: number) => {
      operation().then(
        (step) => {
          this.busy--;
          this.apply(pair, step);
          this.checkQuiet();
        },
        (error: unknown) => {
          this.ctx.logger.warn(
            { err: error, signer: pair.signer, destination: pair.destination, operation: name },
            "held-pair store operation failed; retrying",
          );
          if (this.stopping) {
            onAbandon();
            this.busy--;
            this.checkQuiet();
            return;
          }
          const delayMs = Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_FIRST_MS * 2 ** Math.min(failures, 16));
          const timer = setTimeout(() => {
            this.retryTimers.delete(timer);
            // The timer counted as busy (stop clears it and counts it off); the attempt counts on.
            attempt(failures + 1);
          }, delayMs);
          this.retryTimers.add(timer);
        },
      );
    };
    attempt(0);
  }

  /** Waits until `count` more deliveries fit; false when stopping. */
  private async reserve(count: number): Promise<boolean> {
    while (this.inMemory + this.reserved + count > this.options.capacity) {
      if (this.stopping) return false;
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    if (this.stopping) return false;
    this.reserved += count;
    return true;
  }

  /** Waits until at least one more delivery fits and reserves up to `max`; 0 when stopping. */
  private async reserveUpTo(max: number): Promise<number> {
    while (this.inMemory + this.reserved >= this.options.capacity) {
      if (this.stopping) return 0;
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    if (this.stopping) return 0;
    const count = Math.min(max, this.options.capacity - this.inMemory - this.reserved);
    this.reserved += count;
    return count;
  }

  private wakeRoom(): void {
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  private checkQuiet(): void {
    if (this.busy === 0) for (const resolve of this.quietWaiters.splice(0)) resolve();
  }
}
