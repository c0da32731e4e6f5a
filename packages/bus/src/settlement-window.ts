/**
 * The records of one partition a member has handed to handlers and not yet committed, in offset
 * order. A record is settled once its outcome is final (a `pending` handler's `settled` promise
 * resolved and any retry / dead-letter copy was published); only the settled prefix may be committed,
 * so a record that is still pending holds back the commit of every record after it.
 */
export interface WindowEntry {
  readonly offset: string;
  settled: boolean;
}

export class SettlementWindow {
  private readonly entries: WindowEntry[] = [];
  private head = 0;
  private unsettled = 0;
  private readonly waiters: Array<{ below: number; resolve: () => void }> = [];
  /** The first record whose outcome could not be carried out (its retry copy was not published). */
  failure: { offset: string; error: unknown } | undefined;

  /** Records in the window, settled or not. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Records whose outcome is not final yet. */
  get pending(): number {
    return this.unsettled;
  }

  /** Adds the next record in offset order; `settled` when its outcome is already final. */
  add(offset: string, settled: boolean): WindowEntry {
    const entry: WindowEntry = { offset, settled };
    this.entries.push(entry);
    if (!settled) this.unsettled += 1;
    return entry;
  }

  settle(entry: WindowEntry): void {
    if (entry.settled) return;
    entry.settled = true;
    this.unsettled -= 1;
    this.wake();
  }

  /** The record's outcome was decided but could not be carried out: it must not be committed. */
  fail(entry: WindowEntry, error: unknown): void {
    if (this.failure === undefined || BigInt(entry.offset) < BigInt(this.failure.offset)) {
      this.failure = { offset: entry.offset, error };
    }
    if (!entry.settled) {
      // Counted as no longer pending so waiters move on; it stays uncommittable (not `settled`).
      this.unsettled -= 1;
      this.wake();
    }
  }

  /**
   * Removes the settled records at the front of the window and returns the offset of the last one
   * (the position to commit is that offset + 1), or undefined when the front record is not settled.
   */
  takeSettledPrefix(): string | undefined {
    let last: string | undefined;
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      if (!entry.settled) break;
      last = entry.offset;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return last;
  }

  /**
   * Resolves once fewer than `below` records are pending (at once when that is already so), or after
   * `timeoutMs` when given, whichever comes first.
   */
  whenPendingBelow(below: number, timeoutMs?: number): Promise<void> {
    if (this.unsettled < below) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        below,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.waiters.splice(this.waiters.indexOf(waiter), 1);
              resolve();
            }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Forgets every record (the partition was handed to another member, or rewound). */
  clear(): void {
    this.entries.length = 0;
    this.head = 0;
    this.unsettled = 0;
    this.failure = undefined;
    this.wake();
  }

  private wake(): void {
    for (let index = this.waiters.length - 1; index >= 0; index--) {
      const waiter = this.waiters[index]!;
      if (this.unsettled < waiter.below) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }
}
