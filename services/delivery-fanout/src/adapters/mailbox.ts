import type { Sql } from "@mimi/store";

/** One activity in a local user's mailbox. `cursor` grows monotonically per user in commit order. */
export interface MailboxItem {
  cursor: number;
  activityId: string;
  activity: Record<string, unknown>;
  receivedAt: string;
}

export interface NewMailboxItem {
  username: string;
  activityId: string;
  activity: Record<string, unknown>;
  deliveredBy: string;
  receivedAt: Date;
}

export interface MailboxStore {
  /** Stores the item unless the user already has that activity; returns the new cursor, or undefined for a duplicate. */
  append(item: NewMailboxItem): Promise<number | undefined>;
  /** Items with a cursor greater than `after`, oldest first. */
  page(username: string, after: number, limit: number): Promise<MailboxItem[]>;
}

interface MailboxRow {
  seq: number;
  activity_id: string;
  activity: string;
  received_at: Date;
}

export function createMailboxStore(sql: Sql): MailboxStore {
  return {
    async append(item) {
      return sql.transaction(async (tx) => {
        // One writer per user at a time: the cursor is drawn after the lock, so a user's rows commit in
        // cursor order and a stream that has sent cursor n never later meets a smaller one.
        await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`mimi-mailbox:${item.username}`]);
        const inserted = await tx.query<{ seq: number }>(
          `insert into delivery.mailbox (username, activity_id, activity, delivered_by, received_at)
           values ($1, $2, $3, $4, $5)
           on conflict (username, activity_id) do nothing
           returning seq`,
          [item.username, item.activityId, JSON.stringify(item.activity), item.deliveredBy, item.receivedAt],
        );
        return inserted.rows[0]?.seq;
      });
    },
    async page(username, after, limit) {
      const result = await sql.query<MailboxRow>(
        `select seq, activity_id, activity, received_at from delivery.mailbox
         where username = $1 and seq > $2 order by seq limit $3`,
        [username, after, limit],
      );
      return result.rows.map((row) => ({
        cursor: row.seq,
        activityId: row.activity_id,
        activity: JSON.parse(row.activity) as Record<string, unknown>,
        receivedAt: row.received_at.toISOString(),
      }));
    },
  };
}
