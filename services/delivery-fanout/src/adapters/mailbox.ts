import type { Sql } from "@mimi/store";
import type { MailboxUsage } from "../domain/mailbox-quota.js";

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
  /** Items and bytes stored for each of `usernames` (absent: nothing stored). */
  usage(usernames: readonly string[]): Promise<Map<string, MailboxUsage>>;
  /** Notes that items for these users were refused for their quota (inbox-ingest refuses them then). */
  markRefused(usernames: readonly string[], at: Date): Promise<void>;
  /**
   * Deletes up to `batch` items stored before `storedBefore`, oldest first, and takes them off their
   * users' usage (clearing a refusal mark: there is room again). Returns how many were deleted.
   */
  prune(storedBefore: Date, batch: number): Promise<number>;
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
  const store: MailboxStore = {
    async append(item) {
      // One statement either way; `appendMany` also keeps the user's usage.
      const [cursor] = await store.appendMany([item]);
      return cursor;
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
           returning seq, username, activity_id, octet_length(activity) as size
         ),
         counted as (
           insert into delivery.mailbox_usage (username, items, bytes)
           select username, count(*), sum(size) from inserted group by username
           on conflict (username) do update set
             items = delivery.mailbox_usage.items + excluded.items,
             bytes = delivery.mailbox_usage.bytes + excluded.bytes
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
    async usage(usernames) {
      const result = await sql.query<{ username: string; items: string; bytes: string }>(
        "select username, items, bytes from delivery.mailbox_usage where username = any($1::text[])",
        [[...new Set(usernames)]],
      );
      return new Map(
        result.rows.map((row) => [row.username, { items: Number(row.items), bytes: Number(row.bytes) }]),
      );
    },
    async markRefused(usernames, at) {
      await sql.query(
        `insert into delivery.mailbox_usage (username, refused_at)
         select username, $2::timestamptz from unnest($1::text[]) as u(username)
         on conflict (username) do update set refused_at = excluded.refused_at`,
        [[...new Set(usernames)], at.toISOString()],
      );
    },
    async prune(storedBefore, batch) {
      const result = await sql.query<{ deleted: string }>(
        `with doomed as (
           select seq from delivery.mailbox where stored_at < $1::timestamptz order by stored_at, seq limit $2
         ),
         deleted as (
           delete from delivery.mailbox m using doomed where m.seq = doomed.seq
           returning m.username, octet_length(m.activity) as size
         ),
         freed as (
           update delivery.mailbox_usage u set
             items = greatest(u.items - f.items, 0), bytes = greatest(u.bytes - f.bytes, 0), refused_at = null
           from (select username, count(*) as items, sum(size) as bytes from deleted group by username) f
           where u.username = f.username
         )
         select count(*) as deleted from deleted`,
        [storedBefore.toISOString(), batch],
      );
      return Number(result.rows[0]?.deleted ?? 0);
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
  return store;
}
