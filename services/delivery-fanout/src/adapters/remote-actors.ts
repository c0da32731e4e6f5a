import { BoundedCache } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import type { RemoteActor } from "../domain/documents.js";

/**
 * Remote actor documents reduced to what delivery needs (inbox, shared inbox, key id), cached in
 * `delivery.remote_actors` with a TTL and in a per-process LRU in front, so a busy destination's
 * actors are not fetched again for every activity.
 */
export interface RemoteActorCache {
  get(actorId: string, nowMs: number): Promise<RemoteActor | undefined>;
  /** The cached actor even when its TTL ran out (for when a refresh fails for now). */
  getExpired(actorId: string): Promise<RemoteActor | undefined>;
  put(actor: RemoteActor, nowMs: number): Promise<void>;
  forget(actorId: string): Promise<void>;
}

interface CachedActor {
  actor: RemoteActor;
  expiresAtMs: number;
}

interface ActorRow {
  actor_id: string;
  inbox: string;
  shared_inbox: string | null;
  public_key_id: string | null;
  expires_at: Date;
}

export function createRemoteActorCache(
  sql: Sql,
  options: { ttlMs: number; maxEntries: number },
): RemoteActorCache {
  // No time-to-live here: an expired actor is still what `getExpired` answers.
  const memory = new BoundedCache<string, CachedActor>({ maxEntries: options.maxEntries });
  return {
    async get(actorId, nowMs) {
      const hit = memory.get(actorId);
      if (hit && hit.expiresAtMs > nowMs) return hit.actor;
      const result = await sql.query<ActorRow>(
        "select actor_id, inbox, shared_inbox, public_key_id, expires_at from delivery.remote_actors where actor_id = $1",
        [actorId],
      );
      const row = result.rows[0];
      if (!row || row.expires_at.getTime() <= nowMs) return undefined;
      const actor: RemoteActor = {
        id: row.actor_id,
        inbox: row.inbox,
        sharedInbox: row.shared_inbox ?? undefined,
        publicKeyId: row.public_key_id ?? undefined,
      };
      memory.set(actorId, { actor, expiresAtMs: row.expires_at.getTime() });
      return actor;
    },
    async getExpired(actorId) {
      const hit = memory.get(actorId);
      if (hit) return hit.actor;
      const result = await sql.query<ActorRow>(
        "select actor_id, inbox, shared_inbox, public_key_id, expires_at from delivery.remote_actors where actor_id = $1",
        [actorId],
      );
      const row = result.rows[0];
      if (!row) return undefined;
      return {
        id: row.actor_id,
        inbox: row.inbox,
        sharedInbox: row.shared_inbox ?? undefined,
        publicKeyId: row.public_key_id ?? undefined,
      };
    },
    async put(actor, nowMs) {
      const expiresAtMs = nowMs + options.ttlMs;
      memory.set(actor.id, { actor, expiresAtMs });
      await sql.query(
        `insert into delivery.remote_actors (actor_id, inbox, shared_inbox, public_key_id, fetched_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (actor_id) do update set inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
           public_key_id = excluded.public_key_id, fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
        [
          actor.id,
          actor.inbox,
          actor.sharedInbox ?? null,
          actor.publicKeyId ?? null,
          new Date(nowMs),
          new Date(expiresAtMs),
        ],
      );
    },
    async forget(actorId) {
      memory.delete(actorId);
      await sql.query("delete from delivery.remote_actors where actor_id = $1", [actorId]);
    },
  };
}
