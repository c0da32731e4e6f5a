/**
 * One Kafka subscription's consumers over time: the running one and, after a crash, the next.
 * kafkajs disconnects a crashed consumer (it leaves its group, so the other members take its
 * partitions); the subscription starts a new one after its restart policy's delay, or gives up, and
 * keeps the state `consumers()` reports. Independent of kafkajs itself, so it is tested with fakes.
 */
import { asError, type ConsumerSupervision, restartDelayMs } from "./consumer-supervision";
import type { ConsumerRestartPolicy, Subscription } from "./types";

/** What a subscription needs of a kafkajs consumer itself. */
export interface Disconnectable {
  disconnect(): Promise<void>;
}

/** A consumer that is not started yet, and its first join (rejected by a crash before it). */
export interface StartingConsumer<C extends Disconnectable> {
  consumer: C;
  joined: Promise<void>;
}

/** Makes and starts the consumers of one subscription (`createKafkaBus` builds them with kafkajs). */
export interface ConsumerFactory<C extends Disconnectable> {
  /** How long a start may take to join the group. */
  joinTimeoutMs: number;
  /** A new consumer; `onCrashAfterJoin` is told of a crash once it joined (before, its start fails). */
  create(onCrashAfterJoin: (error: Error) => void): StartingConsumer<C>;
  /** Resolves once joined; rejects when the start failed, took longer than `timeoutMs` or was abandoned. */
  run(starting: StartingConsumer<C>, timeoutMs: number, abandon: AbortSignal): Promise<void>;
}

/**
 * One subscription: its current consumer and, after a crash, the next one. kafkajs disconnects a
 * crashed consumer (leaving its group, so the other members take its partitions); this starts a new
 * one after the restart policy's delay, or gives up, and keeps the state `consumers()` reports.
 */
export class KafkaSubscription<C extends Disconnectable> implements Subscription {
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private consumer: C | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly stopRequested = new AbortController();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly consumers: ConsumerFactory<C>,
    private readonly restartPolicy: ConsumerRestartPolicy,
    readonly supervision: ConsumerSupervision,
    private readonly onStopped: () => void,
  ) {}

  /**
   * The first start. A failed one (the group coordinator still loading after a broker restart, say)
   * is tried again after the restart policy's delays within the join timeout; then the last failure
   * rejects, and `subscribe` with it.
   */
  async start(): Promise<void> {
    const deadline = Date.now() + this.consumers.joinTimeoutMs;
    for (let failures = 1; ; failures++) {
      try {
        await this.startConsumer(deadline - Date.now());
        return;
      } catch (error) {
        const delayMs = restartDelayMs(this.restartPolicy, failures);
        if (this.stopping || Date.now() + delayMs >= deadline) throw error;
        await sleepUnless(delayMs, this.stopRequested.signal);
      }
    }
  }

  resumeLater(resume: () => void, delayMs: number): void {
    const timer = setTimeout(
      () => {
        this.resumeTimers.delete(timer);
        resume();
      },
      Math.max(0, delayMs),
    );
    this.resumeTimers.add(timer);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.restartTimer);
      this.clearResumeTimers();
      // A start still waiting for its join gives up now rather than at the join timeout.
      this.stopRequested.abort(new Error("subscription stopped"));
      try {
        // Leaves the group: its partitions go to the other members at once.
        await this.consumer?.disconnect();
      } finally {
        this.onStopped();
      }
    })();
    return this.stopping;
  }

  private async startConsumer(timeoutMs: number): Promise<void> {
    const starting = this.consumers.create((error) => this.crashed(starting.consumer, error));
    // Current before it runs, so that neither a crash right after its join nor a stop misses it.
    this.consumer = starting.consumer;
    try {
      await this.consumers.run(starting, timeoutMs, this.stopRequested.signal);
    } catch (error) {
      await starting.consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private crashed(consumer: C, error: Error): void {
    if (this.stopping || consumer !== this.consumer) return;
    // Pauses belonged to the crashed consumer; the next one starts unpaused.
    this.clearResumeTimers();
    const decision = this.supervision.crashed(error);
    if (decision.kind === "giveUp") return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, decision.delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    // kafkajs disconnected the crashed consumer already; this makes sure nothing of it stays open.
    await this.consumer?.disconnect().catch(() => undefined);
    try {
      await this.startConsumer(this.consumers.joinTimeoutMs);
    } catch (error) {
      if (this.consumer) this.crashed(this.consumer, asError(error));
      return;
    }
    if (!this.stopping) this.supervision.started();
  }

  private clearResumeTimers(): void {
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
  }
}

/** Waits `ms`, or less when `signal` is aborted meanwhile. */
function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
