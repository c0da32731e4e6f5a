import type { Bus, BusMessage } from "@mimi/bus";
import { coalesce } from "@mimi/service-kit";
import type { Sql, SqlExecutor } from "@mimi/store";
import type { HoldPlan } from "../domain/pair-queue.js";
import { startBatchPoller } from "./batch-poller.js";

/** One signer's deliveries to one destination server (its origin). */
export interface PairKey {
  signer: string;
  destination: string;
}

export interface DeliveryToStore {
  /** Place in the pair's request order; raised when needed to stay above what is stored. */
  ordinal: number;
  activityId: string;
  inbox: string;
  /** The `delivery.jobs` record value (the job as JSON), kept as it was published. */
  payload: string;
  /** Publisher headers (trace context and the like). */
  headers: Record<string, string>;
  /** Attempts made so far. */
  attempts: number;
}

export interface StoredDelivery {
  ordinal: number;
  payload: string;
  headers: Record<string, string>;
  attempts: number;
}

/**
 * The held pairs in `delivery.held_pairs` (due time, reason) and their backlog of deliveries in
 * `delivery.held_jobs`, in request order. A pair is held from its first failed delivery until its
 * backlog is delivered; while held, the replica that owns the destination's partition stores every
 * later delivery of the pair here instead of sending it, so nothing overtakes the failed one, across
 * restarts and crashes too. A poller (`FOR UPDATE SKIP LOCKED`, replica-safe) publishes one release
 * record per due pair onto `delivery.jobs` under the destination's key, so the drain runs on the
 * replica that owns the destination; the pair's due time is pushed `leaseMs` ahead meanwhile, so a
 * drain lost to a crash is released again.
 */
export interface HeldPairStore {
  /** Whether the pair is held, and the highest stored ordinal (coalesced into one query per burst). */
  check(pair: PairKey): Promise<{ held: boolean; lastOrdinal: number | undefined }>;
  /**
   * Stores deliveries behind the pair's backlog in the order given, holding the pair if it was not
   * (due at once unless `hold` says when); with `hold`, sets its due time. Returns each delivery's
   * stored ordinal, undefined for one already stored (the same activity to the same inbox).
   */
  persist(
    pair: PairKey,
    deliveries: readonly DeliveryToStore[],
    hold: HoldPlan | undefined,
    nowMs: number,
  ): Promise<(number | undefined)[]>;
  /** The next stored deliveries above `afterOrdinal` (from the start when undefined), in order. */
  load(pair: PairKey, afterOrdinal: number | undefined, limit: number): Promise<StoredDelivery[]>;
  /** Ends the hold when nothing is stored for the pair; false when deliveries are stored. */
  unhold(pair: PairKey): Promise<boolean>;
  /** A stored delivery was delivered or given up. */
  remove(pair: PairKey, ordinal: number): Promise<void>;
  recordAttempts(pair: PairKey, ordinal: number, attempts: number): Promise<void>;
  /**
   * The destination is back (its breaker closed): every pair held for it is due now, except where
   * the destination asked for more time (`Retry-After`). Returns how many pairs were woken.
   */
  wake(destination: string, nowMs: number): Promise<number>;
  /** Publishes a release record for up to `limit` due pairs; returns how many. */
  releaseDue(nowMs: number, limit?: number): Promise<number>;
  /** Polls every `intervalMs` until stopped. */
  start(intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> };
  /** Stored deliveries, all pairs together. */
  storedCount(): Promise<number>;
}

export interface HeldPairStoreOptions {
  /** Where release records go (`delivery.jobs`) and the header that marks them. */
  topic: string;
  releaseHeader: string;
  /** How long a released pair is left to its drain before it is released again. */
  leaseMs: number;
  now: () => number;
}

const RELEASE_BATCH = 200;

interface HeldRow {
  signer: string;
  destination: string;
  last_ordinal: number | null;
}

interface HeadRow {
  signer: string;
  destination: string;
  payload: string;
  headers: Record<string, string>;
}

interface StoredRow {
  ordinal: number;
  payload: string;
  headers: Record<string, string>;
  attempts: number;
}

const pairId = (pair: PairKey) => `${pair.signer}\n${pair.destination}`;

/** Locks the pair's hold row (so concurrent stores, drains and releases of the pair take turns). */
async function lockHold(tx: SqlExecutor, pair: PairKey): Promise<boolean> {
  const locked = await tx.query(
    "select 1 from delivery.held_pairs where signer = $1 and destination = $2 for update",
    [pair.signer, pair.destination],
  );
  return locked.rows.length > 0;
}

export function createHeldPairStore(sql: Sql, bus: Bus, options: HeldPairStoreOptions): HeldPairStore {
  const checkMany = coalesce<PairKey, { held: boolean; lastOrdinal: number | undefined }>(
    async (pairs) => {
      const result = await sql.query<HeldRow>(
        `select p.signer, p.destination,
           (select max(j.ordinal) from delivery.held_jobs j
            where j.signer = p.signer and j.destination = p.destination) as last_ordinal
         from delivery.held_pairs p
         join unnest($1::text[], $2::text[]) as q(signer, destination)
           on p.signer = q.signer and p.destination = q.destination`,
        [pairs.map((pair) => pair.signer), pairs.map((pair) => pair.destination)],
      );
      const held = new Map(result.rows.map((row) => [pairId(row), row.last_ordinal]));
      return pairs.map((pair) => {
        const id = pairId(pair);
        if (!held.has(id)) return { held: false, lastOrdinal: undefined };
        const last = held.get(id);
        return { held: true, lastOrdinal: last === null || last === undefined ? undefined : Number(last) };
      });
    },
    { maxBatch: 200, concurrentBatches: 2 },
  );

  const releaseDue = async (nowMs: number, limit = RELEASE_BATCH): Promise<number> =>
    sql.transaction(async (tx) => {
      // SKIP LOCKED lets replicas share the table without releasing a pair twice.
      const due = await tx.query<PairKey>(
        `select signer, destination from delivery.held_pairs
         where due_at <= $1 order by due_at limit $2 for update skip locked`,
        [new Date(nowMs), limit],
      );
      if (due.rows.length === 0) return 0;
      const signers = due.rows.map((row) => row.signer);
      const destinations = due.rows.map((row) => row.destination);
      // A new statement sees every delivery stored before the locks were taken.
      const heads = await tx.query<HeadRow>(
        `select distinct on (j.signer, j.destination) j.signer, j.destination, j.payload, j.headers
         from delivery.held_jobs j
         join unnest($1::text[], $2::text[]) as q(signer, destination)
           on j.signer = q.signer and j.destination = q.destination
         order by j.signer, j.destination, j.ordinal`,
        [signers, destinations],
      );
      const withBacklog = new Set(heads.rows.map(pairId));
      const empty = due.rows.filter((row) => !withBacklog.has(pairId(row)));
      if (empty.length > 0) {
        // Left by a drain that ended before it could end the hold.
        await tx.query(
          `delete from delivery.held_pairs p using unnest($1::text[], $2::text[]) as q(signer, destination)
           where p.signer = q.signer and p.destination = q.destination`,
          [empty.map((row) => row.signer), empty.map((row) => row.destination)],
        );
      }
      if (heads.rows.length === 0) return 0;
      const encoder = new TextEncoder();
      const releases: BusMessage[] = heads.rows.map((head) => ({
        key: head.destination,
        value: encoder.encode(head.payload),
        headers: { ...head.headers, [options.releaseHeader]: "1" },
      }));
      await bus.publish(options.topic, releases);
      await tx.query(
        `update delivery.held_pairs p set due_at = $3
         from unnest($1::text[], $2::text[]) as q(signer, destination)
         where p.signer = q.signer and p.destination = q.destination`,
        [
          heads.rows.map((row) => row.signer),
          heads.rows.map((row) => row.destination),
          new Date(nowMs + options.leaseMs),
        ],
      );
      return heads.rows.length;
    });

  return {
    check: (pair) => checkMany(pair),

    async persist(pair, deliveries, hold, nowMs) {
      return sql.transaction(async (tx) => {
        if (hold) {
          await tx.query(
            `insert into delivery.held_pairs (signer, destination, due_at, not_before, reason)
             values ($1, $2, $3, $4, $5)
             on conflict (signer, destination) do update
               set due_at = excluded.due_at, not_before = excluded.not_before, reason = excluded.reason`,
            [
              pair.signer,
              pair.destination,
              new Date(hold.dueAtMs),
              hold.notBeforeMs === undefined ? null : new Date(hold.notBeforeMs),
              hold.reason,
            ],
          );
        } else {
          await tx.query(
            `insert into delivery.held_pairs (signer, destination, due_at) values ($1, $2, $3)
             on conflict (signer, destination) do nothing`,
            [pair.signer, pair.destination, new Date(nowMs)],
          );
          await lockHold(tx, pair);
        }
        if (deliveries.length === 0) return [];
        const last = await tx.query<{ last: number }>(
          `select coalesce(max(ordinal), -1) as last from delivery.held_jobs
           where signer = $1 and destination = $2`,
          [pair.signer, pair.destination],
        );
        let previous = Number(last.rows[0]?.last ?? -1);
        const ordinals = deliveries.map((delivery) => {
          previous = Math.max(delivery.ordinal, previous + 1);
          return previous;
        });
        const inserted = await tx.query<{ ordinal: number }>(
          `insert into delivery.held_jobs
             (signer, destination, ordinal, activity_id, inbox, payload, headers, attempts)
           select $1, $2, d.ordinal, d.activity_id, d.inbox, d.payload, d.headers::jsonb, d.attempts
           from unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
             as d(ordinal, activity_id, inbox, payload, headers, attempts)
           order by d.ordinal
           on conflict do nothing
           returning ordinal`,
          [
            pair.signer,
            pair.destination,
            ordinals,
            deliveries.map((delivery) => delivery.activityId),
            deliveries.map((delivery) => delivery.inbox),
            deliveries.map((delivery) => delivery.payload),
            deliveries.map((delivery) => JSON.stringify(delivery.headers)),
            deliveries.map((delivery) => delivery.attempts),
          ],
        );
        const stored = new Set(inserted.rows.map((row) => Number(row.ordinal)));
        return ordinals.map((ordinal) => (stored.has(ordinal) ? ordinal : undefined));
      });
    },

    async load(pair, afterOrdinal, limit) {
      const result = await sql.query<StoredRow>(
        `select ordinal, payload, headers, attempts from delivery.held_jobs
         where signer = $1 and destination = $2 and ordinal > $3
         order by ordinal limit $4`,
        [pair.signer, pair.destination, afterOrdinal ?? -1, limit],
      );
      return result.rows.map((row) => ({
        ordinal: Number(row.ordinal),
        payload: row.payload,
        headers: row.headers,
        attempts: row.attempts,
      }));
    },

    async unhold(pair) {
      return sql.transaction(async (tx) => {
        // No hold: nothing can be stored for the pair (the backlog references its hold).
        if (!(await lockHold(tx, pair))) return true;
        // After the lock, a new statement sees every delivery stored before it.
        const stored = await tx.query(
          "select 1 from delivery.held_jobs where signer = $1 and destination = $2 limit 1",
          [pair.signer, pair.destination],
        );
        if (stored.rows.length > 0) return false;
        await tx.query("delete from delivery.held_pairs where signer = $1 and destination = $2", [
          pair.signer,
          pair.destination,
        ]);
        return true;
      });
    },

    async remove(pair, ordinal) {
      await sql.query(
        "delete from delivery.held_jobs where signer = $1 and destination = $2 and ordinal = $3",
        [pair.signer, pair.destination, ordinal],
      );
    },

    async recordAttempts(pair, ordinal, attempts) {
      await sql.query(
        `update delivery.held_jobs set attempts = $4
         where signer = $1 and destination = $2 and ordinal = $3`,
        [pair.signer, pair.destination, ordinal, attempts],
      );
    },

    async wake(destination, nowMs) {
      const now = new Date(nowMs);
      const woken = await sql.query(
        `update delivery.held_pairs set due_at = $2
         where destination = $1 and due_at > $2 and (not_before is null or not_before <= $2)`,
        [destination, now],
      );
      return woken.rowCount;
    },

    releaseDue,

    start(intervalMs, onError) {
      const release = () => releaseDue(options.now());
      return startBatchPoller(release, { intervalMs, batchSize: RELEASE_BATCH, onError });
    },

    async storedCount() {
      const result = await sql.query<{ n: number }>("select count(*)::int as n from delivery.held_jobs");
      return result.rows[0]?.n ?? 0;
    },
  };
}
