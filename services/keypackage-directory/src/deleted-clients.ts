import type { ClaimStore } from "@mimi/claims";
import type { Logger } from "@mimi/service-kit";
import type { SqlExecutor } from "@mimi/store";
import { type PoolRef, poolKeyOf } from "./keypackage-rows.js";

/**
 * KeyPackages of clients that are gone: identity deleted the client (`DELETE /api/v1/clients/:id`,
 * or the whole account). No claim serves them from that moment (the claim statement hands out only
 * KeyPackages of current clients); this deletes their rows and withdraws their ids from the claim
 * store, so nothing of a deleted device stays behind and no rebuild of the store brings it back.
 *
 * It runs at start, for the clients a claim finds gone from a user's list, and every
 * `MIMI_KEYPACKAGE_DELETED_CLIENT_SWEEP_SECONDS`, in batches of `DELETED_CLIENT_BATCH` rows.
 */

/** What purging needs: the database, the claim store and the provider's domain (its pool keys). */
export interface DeletedClientDeps {
  sql: SqlExecutor;
  claims: ClaimStore;
  domain: string;
}

/** Most rows one statement deletes, so no sweep holds many rows locked. */
export const DELETED_CLIENT_BATCH = 1000;

interface DeletedRow {
  id: string;
  username: string;
  client_id: string;
  ciphersuite: number;
}

/**
 * Deletes up to `limit` rows of clients identity no longer has (of `clientIds` only, when given) and
 * withdraws them from the claim store; returns how many rows went. Clients are identity's: this and
 * `keypackages.confirm_claims` are the two statements here that read `identity.clients` directly.
 */
export async function purgeDeletedClients(
  deps: DeletedClientDeps,
  options: { limit: number; clientIds?: readonly string[] },
): Promise<number> {
  const rows = await deleteRows(deps.sql, options.limit, options.clientIds);
  const byPool = new Map<string, { pool: PoolRef; ids: string[] }>();
  for (const row of rows) {
    const pool = { username: row.username, clientId: row.client_id, ciphersuite: row.ciphersuite };
    const key = JSON.stringify([pool.username, pool.clientId, pool.ciphersuite]);
    const entry = byPool.get(key) ?? { pool, ids: [] };
    entry.ids.push(row.id);
    byPool.set(key, entry);
  }
  for (const { pool, ids } of byPool.values()) await deps.claims.remove(poolKeyOf(deps.domain, pool), ids);
  return rows.length;
}

/** Purges batch after batch until none is full; returns the rows deleted. */
export async function purgeAllDeletedClients(
  deps: DeletedClientDeps,
  batch = DELETED_CLIENT_BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await purgeDeletedClients(deps, { limit: batch });
    total += deleted;
    if (deleted < batch) return total;
  }
}

async function deleteRows(
  sql: SqlExecutor,
  limit: number,
  clientIds: readonly string[] | undefined,
): Promise<DeletedRow[]> {
  const result = await sql.query<DeletedRow>(
    `delete from keypackages.key_packages where id in (
       select k.id from keypackages.key_packages k
       where ($2::text[] is null or k.client_id = any($2::text[]))
         and not exists (select 1 from identity.clients c where c.id = k.client_id and c.username = k.username)
       limit $1
     )
     returning id, username, client_id, ciphersuite`,
    [limit, clientIds === undefined ? null : [...clientIds]],
  );
  return result.rows;
}

/**
 * Purges at once and then every `intervalMs` (0: only at once). Every replica may run it: each row is
 * deleted once, and withdrawing an id the store no longer holds changes nothing.
 */
export function startDeletedClientSweep(
  deps: DeletedClientDeps & { logger: Logger },
  intervalMs: number,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = purgeAllDeletedClients(deps)
      .then((deleted) => {
        if (deleted > 0) deps.logger.info({ deleted }, "KeyPackages of deleted clients deleted");
      })
      .catch((error: unknown) =>
        deps.logger.error({ err: error }, "deleting KeyPackages of deleted clients failed"),
      )
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = intervalMs > 0 ? setInterval(tick, intervalMs) : undefined;
  timer?.unref();
  return {
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
