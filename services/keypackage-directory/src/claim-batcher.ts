import { type SqlExecutor, sqlErrorCode } from "@mimi/store";
import { type ConfirmedClient, confirmPicks, type PickedClaim } from "./keypackage-rows.js";

/**
 * Confirms claims in SQL, several per statement: claims handed in during one turn of the event loop
 * share one `confirmPicks` statement (at most `maxBatch` each). A statement sent to the database costs
 * far more than a few more rows in it, so under load this keeps the statement count well below the
 * claim count; a lone claim waits for nothing but the end of the current turn.
 */
export interface ClaimConfirmer {
  /** The user's current clients and what SQL confirmed of the picks; undefined: no such account. */
  confirm(claim: PickedClaim): Promise<ConfirmedClient[] | undefined>;
}

export const DEFAULT_CLAIMS_PER_STATEMENT = 64;

/** PostgreSQL's deadlock error: two statements claiming the same stale ids in opposite orders. */
const DEADLOCK_DETECTED = "40P01";
const DEADLOCK_ATTEMPTS = 3;

interface PendingClaim {
  claim: PickedClaim;
  resolve(confirmed: ConfirmedClient[] | undefined): void;
  reject(error: unknown): void;
}

export function createClaimConfirmer(
  sql: SqlExecutor,
  now: () => Date,
  options: { maxBatch?: number } = {},
): ClaimConfirmer {
  const maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_CLAIMS_PER_STATEMENT);
  let queue: PendingClaim[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      void confirmBatch(batch);
    }
  }

  async function confirmBatch(batch: PendingClaim[]): Promise<void> {
    const claims = batch.map((pending) => pending.claim);
    for (let attempt = 1; ; attempt++) {
      try {
        const confirmed = await confirmPicks(sql, claims, now());
        for (const [index, pending] of batch.entries()) pending.resolve(confirmed[index]);
        return;
      } catch (error) {
        // The statement rolled back as a whole, so running it again is safe.
        if (sqlErrorCode(error) === DEADLOCK_DETECTED && attempt < DEADLOCK_ATTEMPTS) continue;
        for (const pending of batch) pending.reject(error);
        return;
      }
    }
  }

  return {
    confirm(claim) {
      return new Promise((resolve, reject) => {
        queue.push({ claim, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
