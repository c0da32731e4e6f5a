import type { ProviderUrls } from "@mimi/activitypub";
import type { SqlExecutor } from "@mimi/store";
import { localChannelIdOfFollowers } from "./domain/identifiers.js";

/**
 * What other services read of the sequencer's data: whether a channel exists and who follows it.
 * This module (`@mimi/channel-sequencer/reads`) holds the only SQL outside the sequencer that names
 * the `channels` schema, next to the migrations that define it. The services share the provider's
 * database (in the split deployment too), so these reads need no network hop and work while the
 * sequencer is down; they see what the sequencer committed. The sequencer's own store answers the
 * same questions through these functions. Imports only types and the pure identifier rules.
 */

/** Whether this provider hosts the channel. */
export async function channelExists(sql: SqlExecutor, channelId: string): Promise<boolean> {
  const result = await sql.query("select 1 from channels.channels where id = $1", [channelId]);
  return result.rows.length > 0;
}

/**
 * The channel's followers: the distinct actors its members' credentials name, sorted (a channel's
 * followers collection is its MLS tree). Undefined when the channel does not exist.
 */
export async function channelFollowers(sql: SqlExecutor, channelId: string): Promise<string[] | undefined> {
  const result = await sql.query<{ actor_url: string | null }>(
    `select m.actor_url from channels.channels c left join channels.members m on m.channel_id = c.id
     where c.id = $1`,
    [channelId],
  );
  if (result.rows.length === 0) return undefined;
  const actors = result.rows.flatMap((row) => (row.actor_url === null ? [] : [row.actor_url]));
  // Sorted here, not in SQL, so the order does not depend on the database's collation.
  return [...new Set(actors)].sort();
}

/** Whether `actorUrl` follows (is a member of) the channel; false for an unknown channel. */
export async function isChannelFollower(
  sql: SqlExecutor,
  channelId: string,
  actorUrl: string,
): Promise<boolean> {
  const result = await sql.query(
    "select 1 from channels.members where channel_id = $1 and actor_url = $2 limit 1",
    [channelId, actorUrl],
  );
  return result.rows.length > 0;
}

/**
 * The followers when `collectionUrl` is one of this provider's channels' followers collections
 * (delivery-fanout expands audiences with it); undefined for any other URL or an unknown channel.
 * Other URLs cost no query.
 */
export async function localCollectionFollowers(
  sql: SqlExecutor,
  urls: ProviderUrls,
  collectionUrl: string,
): Promise<string[] | undefined> {
  const channelId = localChannelIdOfFollowers(urls, collectionUrl);
  return channelId === undefined ? undefined : channelFollowers(sql, channelId);
}

/**
 * Whether the two actors are members of one channel this provider hosts (keypackage-directory counts
 * them as contacts, so consent is not asked between people who already talk).
 */
export async function shareAChannel(
  sql: SqlExecutor,
  actorUrl: string,
  otherActorUrl: string,
): Promise<boolean> {
  const result = await sql.query(
    `select 1 from channels.members mine join channels.members theirs on theirs.channel_id = mine.channel_id
     where mine.actor_url = $1 and theirs.actor_url = $2 limit 1`,
    [actorUrl, otherActorUrl],
  );
  return result.rows.length > 0;
}
