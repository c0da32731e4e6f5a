import type { SqlExecutor } from "@mimi/store";
import { lastOwnerRefusal, ownerSuccessor } from "../domain/leave.js";
import { type ElevatedRole, roleTableOf } from "../domain/roles.js";

/**
 * The storage side of leaving (docs/channels.md, Leaving): a departure moves the leaver's leaves from
 * `channels.members` to `channels.departures`, so every reader of the followers (forwards, the
 * collection, the log and GroupInfo readers, the inbox's membership checks) stops counting the leaver
 * at once, while the leaves stay known until a member commits their Remove.
 */

/**
 * Records `leaver`'s departure inside the accepting transaction, with the channel row locked: the
 * leaver is still a member and may go (the owner rule, on the roles as they are now). Returns the
 * refusal when they may not; then the caller rolls back. With `handOverOwnership` (the member's
 * account was deleted) a last owner goes anyway and the role passes to `ownerSuccessor`.
 */
export async function recordDeparture(
  tx: SqlExecutor,
  channelId: string,
  leaver: string,
  departedAt: Date,
  options: { handOverOwnership?: boolean } = {},
): Promise<string | undefined> {
  const locked = await tx.query<{ followers: string[]; roles: [string, ElevatedRole][] }>(
    `select
       (select coalesce(json_agg(distinct m.actor_url), '[]'::json)
         from channels.members m where m.channel_id = c.id) as followers,
       (select coalesce(json_agg(json_build_array(r.actor_url, r.role)), '[]'::json)
         from channels.roles r where r.channel_id = c.id) as roles
     from channels.channels c where c.id = $1 for update of c`,
    [channelId],
  );
  const row = locked.rows[0];
  if (row === undefined) return `no channel ${channelId}`;
  const roles = roleTableOf([...row.followers].sort(), new Map(row.roles));
  if (!roles.has(leaver)) return `${leaver} is not a member of the channel`;
  const successor = options.handOverOwnership ? ownerSuccessor(roles, leaver) : undefined;
  const owner = lastOwnerRefusal(roles, leaver);
  if (owner !== undefined && successor === undefined) return owner;
  await tx.query(
    `with moved as (
       delete from channels.members where channel_id = $1 and actor_url = $2
       returning leaf_index, actor_url, acct
     )
     insert into channels.departures (channel_id, leaf_index, actor_url, acct, departed_at)
     select $1, leaf_index, actor_url, acct, $3::timestamptz from moved
     on conflict (channel_id, leaf_index) do update
       set actor_url = excluded.actor_url, acct = excluded.acct, departed_at = excluded.departed_at`,
    [channelId, leaver, departedAt.toISOString()],
  );
  await tx.query("delete from channels.roles where channel_id = $1 and actor_url = $2", [channelId, leaver]);
  if (successor !== undefined) {
    await tx.query(
      `insert into channels.roles (channel_id, actor_url, role) values ($1, $2, 'owner')
       on conflict (channel_id, actor_url) do update set role = 'owner'`,
      [channelId, successor],
    );
  }
  // Like a removed member's, the leaver's server may read the followers for the grace period, so
  // it can check the channel's forward of the Leave.
  await tx.query(
    `insert into channels.removed_members (channel_id, actor_url, removed_at) values ($1, $2, $3::timestamptz)
     on conflict (channel_id, actor_url) do update set removed_at = excluded.removed_at`,
    [channelId, leaver, departedAt.toISOString()],
  );
  return undefined;
}

/** A member committed the Remove of `leaver`'s leaves: the departure is complete. */
export async function completeDeparture(tx: SqlExecutor, channelId: string, leaver: string): Promise<void> {
  await tx.query("delete from channels.departures where channel_id = $1 and actor_url = $2", [
    channelId,
    leaver,
  ]);
}
