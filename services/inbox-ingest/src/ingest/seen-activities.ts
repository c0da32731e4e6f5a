import type { SqlExecutor } from "@mimi/store";

/** One accepted delivery: the activity, where it arrived, and who authenticated it. */
export interface DeliveryKey {
  readonly activityId: string;
  readonly target: string;
  readonly sender: string;
}

/** Dedupe keys in `ingest.seen_activities`. */
export interface SeenActivities {
  /** Records the key; false when it was already there (a redelivery). */
  remember(key: DeliveryKey): Promise<boolean>;
  /** Removes the key again, so a delivery that could not be published is accepted when retried. */
  forget(key: DeliveryKey): Promise<void>;
  /** Deletes keys older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

export function createSeenActivities(sql: SqlExecutor): SeenActivities {
  return {
    async remember(key) {
      const inserted = await sql.query(
        `insert into ingest.seen_activities (activity_id, target, sender) values ($1, $2, $3)
         on conflict do nothing returning activity_id`,
        [key.activityId, key.target, key.sender],
      );
      return inserted.rows.length === 1;
    },
    async forget(key) {
      await sql.query(
        "delete from ingest.seen_activities where activity_id = $1 and target = $2 and sender = $3",
        [key.activityId, key.target, key.sender],
      );
    },
    async prune(before) {
      const deleted = await sql.query("delete from ingest.seen_activities where seen_at < $1", [before]);
      return deleted.rowCount;
    },
  };
}
