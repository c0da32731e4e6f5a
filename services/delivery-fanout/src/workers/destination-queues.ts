/**
 * Jobs accepted ahead of their completion, one FIFO queue per destination: a destination's jobs run
 * one after another (in the order they were accepted), different destinations run concurrently, and
 * at most `capacity` jobs are accepted and unfinished at once (`submit` waits for room).
 */
export class DestinationQueues {
  private readonly queues = new Map<string, Array<() => Promise<void>>>();
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private unfinished = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be at least 1");
  }

  /** Accepted and not yet finished. */
  get pending(): number {
    return this.unfinished;
  }

  /** Resolves once `work` is accepted; `work` runs after the destination's earlier jobs finished. */
  async submit(destination: string, work: () => Promise<void>): Promise<void> {
    while (this.unfinished >= this.capacity) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.unfinished++;
    const queue = this.queues.get(destination);
    if (queue) {
      queue.push(work);
      return;
    }
    const fresh = [work];
    this.queues.set(destination, fresh);
    void this.run(destination, fresh);
  }

  /** Resolves when every accepted job has finished. */
  drain(): Promise<void> {
    if (this.unfinished === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(destination: string, queue: Array<() => Promise<void>>): Promise<void> {
    for (let work = queue[0]; work !== undefined; work = queue[0]) {
      try {
        await work();
      } catch {
        // A job records its own outcome; a failure here must not stall the destination's queue.
      }
      queue.shift();
      this.unfinished--;
      this.roomWaiters.shift()?.();
    }
    this.queues.delete(destination);
    if (this.unfinished === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
