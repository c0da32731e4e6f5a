import type { Sql } from "@mimi/store";

/** One activity in a local user's mailbox. `cursor` grows monotonically per user in commit order. */
export interface MailboxItem {
  cursor: number;
  activityId: string;
  activity: Record<string, unknown>;
  /**
   * The actor or channel whose signature delivered the activity (for a local delivery, the local
   * channel or author it came from). Clients act on a channel's activities only when the channel
   * itself delivered them.
   */
  deliveredBy: string;
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
  /**
   * `append` for several items in one statement: each user's new items get increasing cursors in the
   * order given. Returns each item's cursor, undefined for a duplicate (also of an earlier item here).
   */
  appendMany(items: readonly NewMailboxItem[]): Promise<(number | undefined)[]>;
  /**
   * Items with a cursor greater than `after`, oldest first; with `maxBytes`, only as many as fit in
   * that many bytes of stored activity (always at least one).
   */
  page(username: string, after: number, limit: number, maxBytes?: number): Promise<MailboxItem[]>;
}

interface MailboxRow {
  seq: number;
  activity_id: string;
  activity: string;
  delivered_by: string;
  received_at: Date;
}

export function createMailboxStore(sql: Sql): MailboxStore {
  return {
    async append(item) {
      // One statement, one round trip: it runs in its own transaction, and the per-user advisory lock
      // (taken in the CTE, before the row and its cursor are produced) is held until that commits. So
      // one user's rows commit in cursor order and a stream that has sent cursor n never later meets a
      // smaller one. The lock function is volatile, so the CTE is evaluated first and exactly once.
      const inserted = await sql.query<{ seq: number }>(
        `with user_lock as (select pg_advisory_xact_lock(hashtext($6)))
         insert into delivery.mailbox (username, activity_id, activity, delivered_by, received_at)
         select $1::text, $2::text, $3::text, $4::text, $5::timestamptz from user_lock
         on conflict (username, activity_id) do nothing
         returning seq`,
        [
          item.username,
          item.activityId,
          JSON.stringify(item.activity),
          item.deliveredBy,
          item.receivedAt,
          `mimi-mailbox:${item.username}`,
        ],
      );
      return inserted.rows[0]?.seq;
    },
    async appendMany(items) {
      if (items.length === 0) return [];
      // As `append`, for every user of the batch: their locks are taken first (in name order, so two
      // batches cannot deadlock), then the rows go in in the order given, so cursors follow it.
      const inserted = await sql.query<{ seq: number; ord: number }>(
        `with user_locks as (
           select pg_advisory_xact_lock(hashtext('mimi-mailbox:' || username))
           from (select distinct username from unnest($1::text[]) as u(username) order by username) as users
         ),
         locked as (select count(*) as held from user_locks),
         given as (
           select item.*, row_number() over () as ord
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
             as item(username, activity_id, activity, delivered_by, received_at)
         ),
         inserted as (
           insert into delivery.mailbox (username, activity_id, activity, delivered_by, received_at)
           select given.username, given.activity_id, given.activity, given.delivered_by, given.received_at
           from given, locked
           order by given.ord
           on conflict (username, activity_id) do nothing
           returning seq, username, activity_id
         )
         select inserted.seq, min(given.ord)::int as ord
         from inserted join given using (username, activity_id)
         group by inserted.seq`,
        [
          items.map((item) => item.username),
          items.map((item) => item.activityId),
          items.map((item) => JSON.stringify(item.activity)),
          items.map((item) => item.deliveredBy),
          items.map((item) => item.receivedAt.toISOString()),
        ],
      );
      const cursors: (number | undefined)[] = items.map(() => undefined);
      for (const row of inserted.rows) cursors[row.ord - 1] = Number(row.seq);
      return cursors;
    },
    async page(username, after, limit, maxBytes) {
      // The running size is computed over the rows' lengths, so rows past the budget are never loaded.
      const result =
        maxBytes === undefined
          ? await sql.query<MailboxRow>(
              `select seq, activity_id, activity, delivered_by, received_at from delivery.mailbox
               where username = $1 and seq > $2 order by seq limit $3`,
              [username, after, limit],
            )
          : await sql.query<MailboxRow>(
              `with sized as (
                 select seq, sum(octet_length(activity)) over (order by seq) - octet_length(activity) as before
                 from delivery.mailbox where username = $1 and seq > $2 order by seq limit $3
               )
               select m.seq, m.activity_id, m.activity, m.delivered_by, m.received_at
               from sized join delivery.mailbox m using (seq)
               where sized.before = 0 or sized.before + octet_length(m.activity) <= $4
               order by m.seq`,
              [username, after, limit, maxBytes],
            );
      return result.rows.map((row) => ({
        cursor: row.seq,
        activityId: row.activity_id,
        activity: JSON.parse(row.activity) as Record<string, unknown>,
        deliveredBy: row.delivered_by,
        receivedAt: row.received_at.toISOString(),
      }));
    },
  };
}
