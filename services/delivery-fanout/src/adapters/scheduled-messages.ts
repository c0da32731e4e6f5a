import type { Bus, BusMessage } from "@mimi/bus";
import type { Sql } from "@mimi/store";
import { startBatchPoller } from "./batch-poller.js";

/** How many due messages one release publishes at most. */
const RELEASE_BATCH = 200;

/**
 * Durable delayed publishing: a message parked in `delivery.scheduled_messages` is published to its
 * topic once due. Retries of deliveries use it instead of the bus's fixed-delay retry topics because
 * each job needs its own delay (exponential backoff with jitter, `Retry-After`, the breaker's
 * cool-down) over days, and a waiting head record of a retry topic holds back its whole partition.
 * Re-publishing onto `delivery.jobs` (keyed by destination) keeps each destination on the replica
 * that owns it. At-least-once: a crash between publish and delete publishes once more.
 */
export interface MessageScheduler {
  schedule(topic: string, message: BusMessage, dueAtMs: number, reason: string): Promise<void>;
  /** Publishes up to `limit` due messages; returns how many. */
  releaseDue(nowMs: number, limit?: number): Promise<number>;
  /** Polls every `intervalMs` until stopped. */
  start(intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> };
  pendingCount(): Promise<number>;
}

interface ScheduledRow {
  id: number;
  topic: string;
  message_key: string;
  payload: Uint8Array;
  headers: Record<string, string>;
}

export function createMessageScheduler(sql: Sql, bus: Bus, now: () => number): MessageScheduler {
  const releaseDue = async (nowMs: number, limit = RELEASE_BATCH): Promise<number> =>
    sql.transaction(async (tx) => {
      // SKIP LOCKED lets replicas share the table without publishing a message twice.
      const due = await tx.query<ScheduledRow>(
        `select id, topic, message_key, payload, headers from delivery.scheduled_messages
         where due_at <= $1 order by due_at, id limit $2 for update skip locked`,
        [new Date(nowMs), limit],
      );
      if (due.rows.length === 0) return 0;
      const byTopic = new Map<string, BusMessage[]>();
      for (const row of due.rows) {
        const list = byTopic.get(row.topic) ?? [];
        list.push({ key: row.message_key, value: new Uint8Array(row.payload), headers: row.headers });
        byTopic.set(row.topic, list);
      }
      for (const [topic, messages] of byTopic) await bus.publish(topic, messages);
      await tx.query("delete from delivery.scheduled_messages where id = any($1::bigint[])", [
        due.rows.map((row) => row.id),
      ]);
      return due.rows.length;
    });

  return {
    async schedule(topic, message, dueAtMs, reason) {
      await sql.query(
        `insert into delivery.scheduled_messages (topic, message_key, payload, headers, due_at, reason)
         values ($1, $2, $3, $4::jsonb, $5, $6)`,
        [topic, message.key, message.value, JSON.stringify(message.headers ?? {}), new Date(dueAtMs), reason],
      );
    },
    releaseDue,
    start(intervalMs, onError) {
      return startBatchPoller(() => releaseDue(now()), { intervalMs, batchSize: RELEASE_BATCH, onError });
    },
    async pendingCount() {
      const result = await sql.query<{ n: number }>(
        "select count(*)::int as n from delivery.scheduled_messages",
      );
      return result.rows[0]?.n ?? 0;
    },
  };
}
