/**
 * A bounded queue for expensive work (scrypt: 32 MiB and tens of milliseconds of a thread-pool
 * thread per password), fair between keys (client addresses): at most `concurrency` tasks run; the
 * next to start is the waiting task of the key served longest ago, so a burst from one address waits behind itself
 * and never in front of another address's single request. When the queue is full a task is refused
 * at once instead of waiting without end.
 */
export interface FairWorkQueueOptions {
  /** Tasks running at once. */
  concurrency: number;
  /** Tasks waiting in all; beyond it `run` rejects with `WorkQueueFullError("queue")`. */
  maxWaiting: number;
  /** Tasks waiting (and running) for one key; beyond it `run` rejects with `WorkQueueFullError("key")`. */
  maxPerKey: number;
}

/** Why a task was refused: its key already has its share queued, or the whole queue is full. */
export class WorkQueueFullError extends Error {
  constructor(readonly scope: "key" | "queue") {
    super(scope === "key" ? "too many tasks of this key at once" : "the work queue is full");
    this.name = "WorkQueueFullError";
  }
}

export interface FairWorkQueue {
  /** Runs `task` when its turn comes; rejects with `WorkQueueFullError` at once when there is no room. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Tasks running and waiting now (for metrics and tests). */
  readonly running: number;
  readonly waiting: number;
}

interface Waiting {
  start(): void;
}

export function createFairWorkQueue(options: FairWorkQueueOptions): FairWorkQueue {
  if (!(options.concurrency >= 1 && options.maxWaiting >= 0 && options.maxPerKey >= 1))
    throw new RangeError("a work queue needs concurrency >= 1, maxWaiting >= 0 and maxPerKey >= 1");
  const waitingByKey = new Map<string, Waiting[]>();
  const perKey = new Map<string, number>();
  // When each key with work in the queue last had a task started: the key served longest ago (or
  // never) goes next. The scan is over the keys waiting, at most `maxWaiting`.
  const lastStarted = new Map<string, number>();
  let starts = 0;
  let running = 0;
  let waiting = 0;

  function nextKey(): string | undefined {
    let chosen: string | undefined;
    let chosenAt = Number.POSITIVE_INFINITY;
    for (const key of waitingByKey.keys()) {
      const at = lastStarted.get(key) ?? -1;
      if (at < chosenAt) {
        chosen = key;
        chosenAt = at;
      }
    }
    return chosen;
  }

  function startNext(): void {
    while (running < options.concurrency) {
      const key = nextKey();
      if (key === undefined) return;
      const queue = waitingByKey.get(key) ?? [];
      const entry = queue.shift();
      if (queue.length === 0) waitingByKey.delete(key);
      if (!entry) continue;
      waiting -= 1;
      entry.start();
    }
  }

  return {
    get running() {
      return running;
    },
    get waiting() {
      return waiting;
    },
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const ofKey = perKey.get(key) ?? 0;
      if (ofKey >= options.maxPerKey) return Promise.reject(new WorkQueueFullError("key"));
      const mustWait = running >= options.concurrency;
      if (mustWait && waiting >= options.maxWaiting) return Promise.reject(new WorkQueueFullError("queue"));
      perKey.set(key, ofKey + 1);
      return new Promise<T>((resolve, reject) => {
        const start = () => {
          running += 1;
          starts += 1;
          lastStarted.set(key, starts);
          task()
            .then(resolve, reject)
            .finally(() => {
              running -= 1;
              const left = (perKey.get(key) ?? 1) - 1;
              if (left === 0) {
                perKey.delete(key);
                lastStarted.delete(key);
              } else {
                perKey.set(key, left);
              }
              startNext();
            });
        };
        if (!mustWait) {
          start();
          return;
        }
        waiting += 1;
        const queue = waitingByKey.get(key);
        if (queue) queue.push({ start });
        else waitingByKey.set(key, [{ start }]);
      });
    },
  };
}
