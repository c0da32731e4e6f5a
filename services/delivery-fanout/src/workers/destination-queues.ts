import { AsyncResource } from "node:async_hooks";

/**
 * Jobs accepted ahead of their completion, one FIFO queue per destination: a destination's jobs start
 * in the order they were accepted, at most `perDestination` of them at once (1: strictly one after
 * another); an `exclusive` job starts only once every earlier one finished and runs alone, so nothing
 * overtakes it and it overtakes nothing. Different destinations run concurrently; at most `capacity`
 * jobs are accepted and unfinished at once (`submit` waits for room).
 */
interface QueuedJob {
  work: () => Promise<void>;
  exclusive: boolean;
}

interface DestinationQueue {
  waiting: QueuedJob[];
  running: number;
  exclusiveRunning: boolean;
}

export class DestinationQueues {
  private readonly queues = new Map<string, DestinationQueue>();
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private unfinished = 0;

  constructor(
    readonly capacity: number,
    readonly perDestination = 1,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be at least 1");
    if (!Number.isInteger(perDestination) || perDestination < 1) {
      throw new RangeError("perDestination must be at least 1");
    }
  }

  /** Accepted and not yet finished. */
  get pending(): number {
    return this.unfinished;
  }

  /**
   * Resolves once `work` is accepted; `work` starts once fewer than `perDestination` earlier jobs of the
   * destination run (none, when it or a running one is `exclusive`).
   */
  async submit(
    destination: string,
    work: () => Promise<void>,
    options: { exclusive?: boolean } = {},
  ): Promise<void> {
    while (this.unfinished >= this.capacity) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.unfinished++;
    let queue = this.queues.get(destination);
    if (!queue) {
      queue = { waiting: [], running: 0, exclusiveRunning: false };
      this.queues.set(destination, queue);
    }
    // Run in the submitter's async context (its trace), not the one of the job that finishes before it.
    // A resource rather than `AsyncResource.bind` (or Node 20's `AsyncLocalStorage.snapshot`, built on
    // it): bind defines a deprecated property on every bound function, a cost per delivery.
    const submitter = new AsyncResource("mimi.delivery");
    queue.waiting.push({
      work: () => submitter.runInAsyncScope(work),
      exclusive: options.exclusive ?? false,
    });
    this.startNext(destination, queue);
  }

  /** Resolves when every accepted job has finished. */
  drain(): Promise<void> {
    if (this.unfinished === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private startNext(destination: string, queue: DestinationQueue) {
    while (!queue.exclusiveRunning) {
      const next = queue.waiting[0];
      if (!next) break;
      if (next.exclusive ? queue.running > 0 : queue.running >= this.perDestination) break;
      queue.waiting.shift();
      queue.running++;
      queue.exclusiveRunning = next.exclusive;
      void this.run(destination, queue, next.work);
    }
    if (queue.running === 0 && queue.waiting.length === 0) this.queues.delete(destination);
  }

  private async run(destination: string, queue: DestinationQueue, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch {
      // A job records its own outcome; a failure here must not stall the destination's queue.
    }
    queue.running--;
    queue.exclusiveRunning = false;
    this.unfinished--;
    this.roomWaiters.shift()?.();
    this.startNext(destination, queue);
    if (this.unfinished === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
