import { coalesce } from "@mimi/service-kit";
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

export function createClaimConfirmer(
  sql: SqlExecutor,
  now: () => Date,
  options: { maxBatch?: number } = {},
): ClaimConfirmer {
  const confirm = coalesce<PickedClaim, ConfirmedClient[] | undefined>(
    async (claims) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await confirmPicks(sql, claims, now());
        } catch (error) {
          // The statement rolled back as a whole, so running it again is safe.
          if (sqlErrorCode(error) !== DEADLOCK_DETECTED || attempt >= DEADLOCK_ATTEMPTS) throw error;
        }
      }
    },
    // Statements of one turn run side by side over the pool rather than one after another.
    {
      maxBatch: options.maxBatch ?? DEFAULT_CLAIMS_PER_STATEMENT,
      concurrentBatches: Number.POSITIVE_INFINITY,
    },
  );
  return { confirm };
}
