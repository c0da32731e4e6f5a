/**
 * The deliveries of one signer (a channel, or one author) to one destination server: a "pair". They
 * leave in the order they were requested, through failures, retries, breaker cool-downs and restarts.
 * Pure: the queue decides, and returns effects its caller carries out (send a job, store jobs, read
 * the stored backlog, end the hold), reporting each result back as an event.
 *
 * Every job has an ordinal: its place in the pair's request order (later jobs, higher ordinals; gaps
 * are jobs already delivered). Modes:
 * - `checking`: a new queue asks the store whether the pair is held (a backlog is stored, from before
 *   a restart or from another replica); jobs wait.
 * - `flowing`: jobs start in order under the window rule below.
 * - `held`: a job failed (or the breaker deferred it). Nothing is sent. The failed job and every later
 *   one are stored, in order, behind the backlog; a job still in flight when the pair was held is
 *   stored at its place once its outcome is known (a later job is never stored before an earlier one
 *   whose outcome is unknown). The store keeps the pair's due time.
 * - `draining`: the pair is due: the stored backlog is read in order, in batches, and sent under the
 *   window rule; jobs arriving meanwhile are stored behind it. A failure holds the pair again (the
 *   failed job and those after it stay stored, at their places). Once the backlog is empty the hold
 *   ends and the pair flows.
 *
 * Window rule (`window` = N): a job starts only after every earlier job has started, and only while
 * every job at least N places before it (by ordinal) has finished (delivered, or given up); a job that
 * may not overtake (commit, Welcome, answer: `exclusive`) starts only once every earlier job finished,
 * and no later job starts before it finished. So a job is delivered at most N - 1 places ahead of an
 * earlier one, a failed job is retried before anything N or more places after it goes out, and nothing
 * crosses an exclusive job. N = 1 is strict order.
 */

export type PairMode = "checking" | "flowing" | "held" | "draining";

/** When to try a held pair again, decided by the caller from the failure (backoff, `Retry-After`, breaker). */
export interface HoldPlan {
  dueAtMs: number;
  /** The destination asked not to be contacted before this (`Retry-After`). */
  notBeforeMs?: number | undefined;
  reason: string;
}

export type EntryStatus = "waiting" | "sending" | "failed" | "storing";

export interface PairEntry<T> {
  readonly id: number;
  ordinal: number;
  /** Runs alone: nothing before it is unfinished when it starts, nothing after it starts before it ends. */
  readonly exclusive: boolean;
  /** Read from the stored backlog (it stays stored until delivered) rather than accepted from the bus. */
  readonly stored: boolean;
  status: EntryStatus;
  readonly payload: T;
}

export interface StoredRow<T> {
  ordinal: number;
  exclusive: boolean;
  payload: T;
}

export type PairEffect<T> =
  /** Ask the store whether the pair is held; answer with `checked`. */
  | { kind: "check" }
  /** Send this job; answer with `finished` or `failed`. */
  | { kind: "send"; entry: PairEntry<T> }
  /**
   * Store these jobs behind the backlog, in this order (ordinals may be raised to stay above what is
   * stored), creating the hold if there is none; with `hold`, also set the pair's due time. Answer with
   * `persisted`.
   */
  | { kind: "persist"; entries: PairEntry<T>[]; hold: HoldPlan | undefined }
  /** Read the next stored jobs with an ordinal above `afterOrdinal` (from the start when undefined); answer with `loaded`. */
  | { kind: "load"; afterOrdinal: number | undefined }
  /** End the hold if nothing is stored any more; answer with `unheld`. */
  | { kind: "unhold" };

type Operation = "check" | "persist" | "load" | "unhold";

export class PairQueue<T> {
  private currentMode: PairMode;
  /** Unfinished jobs in memory, by ordinal. */
  private entries: PairEntry<T>[] = [];
  private nextOrdinal = 0;
  private nextId = 1;
  private operation: Operation | undefined;
  private persisting: { entries: PairEntry<T>[]; hold: HoldPlan | undefined } | undefined;
  /** The hold decided by the failure that held the pair, until it is stored. */
  private pendingHold: HoldPlan | undefined;
  private releaseRequested = false;
  /** Draining: the last read returned fewer jobs than asked for. */
  private endReached = false;
  /** Draining: jobs were stored after the last read, so the backlog may have grown. */
  private storedSinceLoad = false;
  private lastLoadedOrdinal: number | undefined;

  /**
   * `known`: `flowing` when the caller knows the pair is not held (it saw it flow moments ago),
   * `unknown` to ask the store first.
   */
  constructor(
    readonly window: number,
    known: "flowing" | "unknown",
  ) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError("window must be at least 1");
    this.currentMode = known === "flowing" ? "flowing" : "checking";
  }

  get mode(): PairMode {
    return this.currentMode;
  }

  /** Jobs in memory (accepted and not yet settled, or read from the backlog and not yet finished). */
  get size(): number {
    return this.entries.length;
  }

  /** Nothing in memory, nothing running: the caller may forget the queue (the store knows any hold). */
  get idle(): boolean {
    return (
      this.entries.length === 0 &&
      this.operation === undefined &&
      this.pendingHold === undefined &&
      !this.releaseRequested &&
      (this.currentMode === "flowing" || this.currentMode === "held")
    );
  }

  /** A job from the bus, in the pair's request order. */
  accept(payload: T, exclusive: boolean): { entry: PairEntry<T>; effects: PairEffect<T>[] } {
    const entry: PairEntry<T> = {
      id: this.nextId++,
      ordinal: this.nextOrdinal++,
      exclusive,
      stored: false,
      status: "waiting",
      payload,
    };
    this.entries.push(entry);
    return { entry, effects: this.pump() };
  }

  /** The pair is due (its stored due time passed, or the destination came back): drain the backlog. */
  release(): PairEffect<T>[] {
    if (this.currentMode === "flowing") {
      // The store says the pair is held although this queue saw it flow: the store is right.
      this.startDrain();
    } else if (this.currentMode === "checking" || this.currentMode === "held") {
      this.releaseRequested = true;
    }
    return this.pump();
  }

  checked(held: boolean, lastStoredOrdinal: number | undefined): PairEffect<T>[] {
    if (this.operation !== "check") return [];
    this.operation = undefined;
    if (lastStoredOrdinal !== undefined) this.placeFreshAfter(lastStoredOrdinal);
    if (held) {
      this.currentMode = "held";
    } else {
      this.currentMode = "flowing";
      this.releaseRequested = false;
    }
    return this.pump();
  }

  /** The job was delivered, or given up (dead-lettered): it no longer holds anything back. */
  finished(entryId: number): PairEffect<T>[] {
    const index = this.entries.findIndex((entry) => entry.id === entryId);
    if (index < 0) return [];
    this.entries.splice(index, 1);
    return this.pump();
  }

  /** The job failed for now (or was deferred): the pair is held until `hold.dueAtMs`. */
  failed(entryId: number, hold: HoldPlan): PairEffect<T>[] {
    const index = this.entries.findIndex((entry) => entry.id === entryId);
    if (index < 0) return [];
    const entry = this.entries[index] as PairEntry<T>;
    // A stored job stays stored, at its place; a fresh one is stored once everything before it is.
    if (entry.stored) this.entries.splice(index, 1);
    else entry.status = "failed";
    if (this.currentMode === "flowing" || this.currentMode === "draining") {
      this.currentMode = "held";
      this.pendingHold = hold;
      this.releaseRequested = false;
      this.endReached = false;
      // Stored jobs that had not started stay stored; the next drain reads them again.
      this.entries = this.entries.filter((other) => !(other.stored && other.status === "waiting"));
    }
    return this.pump();
  }

  /**
   * The jobs of the last `persist` are stored: `assigned` gives each one's stored ordinal, or undefined
   * when it was already stored (the bus delivered it twice).
   */
  persisted(assigned: ReadonlyMap<number, number | undefined>): PairEffect<T>[] {
    if (this.operation !== "persist" || !this.persisting) return [];
    const { entries, hold } = this.persisting;
    this.operation = undefined;
    this.persisting = undefined;
    const done = new Set(entries.map((entry) => entry.id));
    this.entries = this.entries.filter((entry) => !done.has(entry.id));
    for (const ordinal of assigned.values()) {
      if (ordinal !== undefined) this.nextOrdinal = Math.max(this.nextOrdinal, ordinal + 1);
    }
    if (hold !== undefined && this.pendingHold === hold) this.pendingHold = undefined;
    if (this.currentMode === "draining") this.storedSinceLoad = true;
    return this.pump();
  }

  /** The next stored jobs, in order; fewer than `limit` means the end of the backlog. */
  loaded(rows: readonly StoredRow<T>[], limit: number): PairEffect<T>[] {
    if (this.operation !== "load") return [];
    this.operation = undefined;
    // Held again meanwhile (a job in flight failed): the rows stay stored for the next drain.
    if (this.currentMode !== "draining") return this.pump();
    for (const row of rows) {
      this.insertByOrdinal({
        id: this.nextId++,
        ordinal: row.ordinal,
        exclusive: row.exclusive,
        stored: true,
        status: "waiting",
        payload: row.payload,
      });
      this.lastLoadedOrdinal = Math.max(this.lastLoadedOrdinal ?? row.ordinal, row.ordinal);
    }
    if (this.lastLoadedOrdinal !== undefined) this.placeFreshAfter(this.lastLoadedOrdinal);
    this.endReached = rows.length < limit;
    this.storedSinceLoad = false;
    return this.pump();
  }

  /** `done`: the hold ended (nothing was stored any more); otherwise jobs were stored meanwhile. */
  unheld(done: boolean): PairEffect<T>[] {
    if (this.operation !== "unhold") return [];
    this.operation = undefined;
    if (this.currentMode === "draining") {
      if (done) this.currentMode = "flowing";
      else this.endReached = false;
    }
    return this.pump();
  }

  /** Everything that may happen now. */
  private pump(): PairEffect<T>[] {
    const effects: PairEffect<T>[] = [];
    if (this.currentMode === "checking") {
      if (this.operation === undefined) {
        this.operation = "check";
        effects.push({ kind: "check" });
      }
      return effects;
    }
    if (this.currentMode === "flowing" || this.currentMode === "draining") this.startEligible(effects);
    if (this.operation !== undefined) return effects;

    if (this.currentMode === "held") {
      const toStore = this.storablePrefix();
      // The hold is stored with the first jobs behind it; alone only when no job is left to store.
      const nothingLeftToStore = !this.entries.some((entry) => !entry.stored && entry.status !== "sending");
      if (toStore.length > 0 || (this.pendingHold !== undefined && nothingLeftToStore)) {
        this.persist(toStore, this.pendingHold, effects);
        return effects;
      }
      if (this.pendingHold !== undefined) return effects;
      // A stored job still in flight from the last drain must finish before the backlog is read again.
      if (this.releaseRequested && !this.entries.some((entry) => entry.stored)) {
        this.startDrain();
        this.startEligible(effects);
      } else {
        return effects;
      }
    }

    if (this.currentMode === "draining") {
      if (!this.endReached) {
        const toStore = this.storablePrefix();
        if (toStore.length > 0) {
          this.persist(toStore, undefined, effects);
        } else if (!this.entries.some((entry) => entry.stored && entry.status === "waiting")) {
          this.load(effects);
        }
      } else if (this.storedSinceLoad) {
        this.endReached = false;
        this.load(effects);
      } else if (!this.entries.some((entry) => entry.stored)) {
        this.operation = "unhold";
        effects.push({ kind: "unhold" });
      }
    }
    return effects;
  }

  private startEligible(effects: PairEffect<T>[]): void {
    const first = this.entries[0];
    if (!first) return;
    const windowEnd = first.ordinal + this.window;
    for (const entry of this.entries) {
      if (entry.status === "sending") {
        if (entry.exclusive) return;
        continue;
      }
      if (entry.status !== "waiting") return;
      // Draining: jobs from the bus wait behind the backlog (they are stored, or start once it is empty).
      if (this.currentMode === "draining" && !entry.stored) return;
      if (entry.ordinal >= windowEnd) return;
      if (entry.exclusive && entry !== first) return;
      entry.status = "sending";
      effects.push({ kind: "send", entry });
      if (entry.exclusive) return;
    }
  }

  /** Fresh jobs that may be stored now: in order, up to the first one whose outcome is still unknown. */
  private storablePrefix(): PairEntry<T>[] {
    const storable: PairEntry<T>[] = [];
    for (const entry of this.entries) {
      if (entry.stored) continue;
      if (entry.status === "sending" || entry.status === "storing") break;
      storable.push(entry);
    }
    return storable;
  }

  private persist(entries: PairEntry<T>[], hold: HoldPlan | undefined, effects: PairEffect<T>[]): void {
    for (const entry of entries) entry.status = "storing";
    this.operation = "persist";
    this.persisting = { entries, hold };
    effects.push({ kind: "persist", entries, hold });
  }

  private load(effects: PairEffect<T>[]): void {
    this.operation = "load";
    effects.push({ kind: "load", afterOrdinal: this.lastLoadedOrdinal });
  }

  private startDrain(): void {
    this.currentMode = "draining";
    this.releaseRequested = false;
    this.endReached = false;
    this.storedSinceLoad = false;
    this.lastLoadedOrdinal = undefined;
  }

  /** Fresh jobs not yet started get ordinals after `ordinal`, keeping their order. */
  private placeFreshAfter(ordinal: number): void {
    let next = Math.max(this.nextOrdinal, ordinal + 1);
    const moved = this.entries.filter((entry) => !entry.stored && entry.status !== "sending");
    if (moved.length === 0 || (moved[0] as PairEntry<T>).ordinal > ordinal) {
      this.nextOrdinal = next;
      return;
    }
    for (const entry of moved) entry.ordinal = next++;
    this.nextOrdinal = next;
    this.entries.sort((a, b) => a.ordinal - b.ordinal);
  }

  private insertByOrdinal(entry: PairEntry<T>): void {
    let index = this.entries.length;
    while (index > 0 && (this.entries[index - 1] as PairEntry<T>).ordinal > entry.ordinal) index--;
    this.entries.splice(index, 0, entry);
  }
}
