import { coalesce } from "@mimi/service-kit";
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

/**
 * Concurrent `remember` calls share one multi-row insert (see `coalesce`). The rows the insert
 * returns are the keys that were new; a key asked for twice in one batch is new for its first
 * caller only, exactly as two single-row inserts in a row would answer.
 */
export function createSeenActivities(sql: SqlExecutor): SeenActivities {
  const rememberAll = coalesce<DeliveryKey, boolean>(async (keys) => {
    const activityIds: string[] = [];
    const targets: string[] = [];
    const senders: string[] = [];
    const texts = keys.map(keyText);
    const firstAsked = new Map<string, number>();
    texts.forEach((text, index) => {
      const key = keys[index];
      if (!key || firstAsked.has(text)) return;
      firstAsked.set(text, index);
      activityIds.push(key.activityId);
      targets.push(key.target);
      senders.push(key.sender);
    });
    const inserted = await sql.query<DeliveryKey>(
      `insert into ingest.seen_activities (activity_id, target, sender)
       select * from unnest($1::text[], $2::text[], $3::text[])
       on conflict do nothing
       returning activity_id as "activityId", target, sender`,
      [activityIds, targets, senders],
    );
    const isNew = new Set(inserted.rows.map(keyText));
    return texts.map((text, index) => isNew.has(text) && firstAsked.get(text) === index);
  });
  return {
    remember: rememberAll,
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

/** The key as one string; JSON keeps the three parts apart whatever characters they contain. */
function keyText(key: DeliveryKey): string {
  return JSON.stringify([key.activityId, key.target, key.sender]);
}
