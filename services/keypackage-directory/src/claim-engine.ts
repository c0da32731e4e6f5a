import type { ClaimStore } from "@mimi/claims";
import { accountClients } from "@mimi/identity/reads";
import type { Logger } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";

import type { ClaimConfirmer } from "./claim-batcher.js";
import { type ClientListCache, sameClientList } from "./client-lists.js";
import { DELETED_CLIENT_BATCH, purgeDeletedClients } from "./deleted-clients.js";
import { ciphersuiteName } from "./domain/ciphersuites.js";
import {
  type ConfirmedClient,
  lastResortContent,
  markClaimed,
  type NewKeyPackage,
  type PoolRef,
  poolContents,
  poolKeyOf,
  poolsWithContent,
  type StorePick,
  servableSummaries,
} from "./keypackage-rows.js";

/**
 * Claiming KeyPackages: the claim store (Redis or memory) picks an id atomically, SQL confirms it.
 *
 * Rules:
 * - A client's KeyPackages are claimed from the first suite in the requester's order that has
 *   something left; within a suite the oldest single-use KeyPackage goes first, and the last resort
 *   only once none is left.
 * - A single-use KeyPackage is served only by the SQL update that sets its `claimed_at`. An id the
 *   store hands out that SQL already records as claimed (or that expired) is skipped, so even a
 *   store that re-learned an id it had already handed out never causes a second serving.
 * - When the store says a pool is empty or unknown (null, or only the last resort) while SQL still
 *   holds unclaimed, unexpired rows for it, the pool is rebuilt from those rows once and the claim
 *   retried. This recovers from a Redis restart or flush and from an upload whose store update
 *   failed after the SQL commit. The same rebuild runs for every pool at start.
 *
 * The usual claim is one claim-store call (`claimFirst` over every client's pools, with the client
 * list remembered from earlier claims) and one SQL statement (`confirmPicks`, shared with the claims
 * confirmed in the same event-loop turn), which marks the picks claimed, reads the user's current
 * clients and tells whether the store was behind SQL. A client whose
 * pick SQL does not confirm (or that has none) goes through the per-pool steps above.
 */

export interface ClaimDeps {
  sql: Sql;
  claims: ClaimStore;
  /** The users' last known client ids (checked against SQL on every claim). */
  clientLists: ClientListCache;
  /** Confirms the store's picks in SQL (batched: see claim-batcher.ts). */
  confirmer: ClaimConfirmer;
  domain: string;
  logger: Logger;
  now: () => Date;
}

export interface ClaimedItem {
  clientId: string;
  ciphersuite: number;
  /** The KeyPackage exactly as uploaded (an encoded MLSMessage). */
  content: Uint8Array;
  lastResort: boolean;
}

export type UnavailableReason = "noKeyPackageInRequestedCiphersuites" | "noKeyPackages";

export interface UnavailableClient {
  clientId: string;
  reason: UnavailableReason;
  detail: string;
}

export interface ClaimOutcome {
  items: ClaimedItem[];
  unavailable: UnavailableClient[];
}

export type ClaimResult = ({ ok: true } & ClaimOutcome) | { ok: false; reason: "unknownUser" };

/** Upper bound on store ids tried for one pool in one claim (stale ids are skipped). */
const MAX_ATTEMPTS_PER_POOL = 32;

type ClientResult = { item: ClaimedItem } | { unavailable: UnavailableClient };

/**
 * One KeyPackage (or the last resort) per current client of `username`, in `ciphersuites` order;
 * `unknownUser` when there is no such account (then nothing is consumed in SQL).
 */
export async function claimUserKeyPackages(
  deps: ClaimDeps,
  request: { username: string; ciphersuites: readonly number[]; requester: string },
): Promise<ClaimResult> {
  const { username, ciphersuites } = request;
  let clientIds = deps.clientLists.get(username);
  if (clientIds === undefined) {
    const account = await accountClients(deps.sql, username);
    if (!account.exists) return { ok: false, reason: "unknownUser" };
    clientIds = account.clientIds;
    deps.clientLists.set(username, clientIds);
  }
  const picks = await pickFromStore(deps, username, clientIds, ciphersuites);
  const confirmed = await deps.confirmer.confirm({
    username,
    requestedSuites: ciphersuites,
    picks,
    requester: request.requester,
  });
  if (confirmed === undefined) {
    deps.clientLists.forget(username);
    return { ok: false, reason: "unknownUser" };
  }
  const currentIds = confirmed.map((client) => client.clientId);
  if (!sameClientList(currentIds, clientIds)) {
    deps.clientLists.set(username, currentIds);
    forgetDeletedClients(deps, username, clientIds, currentIds);
  }

  const pickOf = new Map(picks.map((pick) => [pick.clientId, pick]));
  const results = await Promise.all(
    confirmed.map((client) => settleClient(deps, request, client, pickOf.get(client.clientId))),
  );
  const outcome: ClaimOutcome = { items: [], unavailable: [] };
  for (const result of results) {
    if ("item" in result) outcome.items.push(result.item);
    else outcome.unavailable.push(result.unavailable);
  }
  if (deps.logger.isLevelEnabled("debug")) {
    deps.logger.debug(
      {
        username,
        requester: request.requester,
        served: outcome.items.length,
        lastResorts: outcome.items.filter((item) => item.lastResort).length,
        unavailable: outcome.unavailable.length,
      },
      "keypackages claimed",
    );
  }
  return { ok: true, ...outcome };
}

/** One claim-store call for every client: each one's first requested suite holding something. */
async function pickFromStore(
  deps: ClaimDeps,
  username: string,
  clientIds: readonly string[],
  ciphersuites: readonly number[],
): Promise<StorePick[]> {
  if (clientIds.length === 0 || ciphersuites.length === 0) return [];
  const claimed = await deps.claims.claimFirst(
    clientIds.map((clientId) =>
      ciphersuites.map((ciphersuite) => poolKeyOf(deps.domain, { username, clientId, ciphersuite })),
    ),
  );
  const picks: StorePick[] = [];
  claimed.forEach((pick, index) => {
    const clientId = clientIds[index];
    const ciphersuite = pick ? ciphersuites[pick.poolIndex] : undefined;
    if (!pick || clientId === undefined || ciphersuite === undefined) return;
    picks.push({
      clientId,
      keyPackageId: pick.keyPackageId,
      ciphersuite,
      lastResort: pick.lastResort,
      preferredSuites: pick.poolIndex + (pick.lastResort ? 1 : 0),
    });
  });
  return picks;
}

/** Serves what SQL confirmed for one client, or falls back to the per-pool steps. */
async function settleClient(
  deps: ClaimDeps,
  request: { username: string; ciphersuites: readonly number[]; requester: string },
  client: ConfirmedClient,
  pick: StorePick | undefined,
): Promise<ClientResult> {
  const { clientId } = client;
  if (pick && !pick.lastResort && client.claimed && !client.claimed.expired) {
    if (client.storeBehind) {
      // Served (it is claimed now), but the store lost ids of preferred suites: give them back.
      const preferred = request.ciphersuites.slice(0, pick.preferredSuites);
      for (const ciphersuite of preferred) {
        await rebuildPool(deps, { username: request.username, clientId, ciphersuite });
      }
    }
    return {
      item: { clientId, ciphersuite: pick.ciphersuite, content: client.claimed.content, lastResort: false },
    };
  }
  if (pick?.lastResort && client.lastResortContent && !client.storeBehind) {
    return {
      item: { clientId, ciphersuite: pick.ciphersuite, content: client.lastResortContent, lastResort: true },
    };
  }
  if (pick?.lastResort && !client.lastResortContent) {
    // Replaced or expired since the store learned it.
    const pool = { username: request.username, clientId, ciphersuite: pick.ciphersuite };
    await deps.claims.remove(poolKeyOf(deps.domain, pool), [pick.keyPackageId]);
  }
  return claimClientPoolByPool(deps, request, clientId);
}

/** The per-pool steps for one client: suites in order, with rebuilds from SQL, then why nothing. */
async function claimClientPoolByPool(
  deps: ClaimDeps,
  request: { username: string; ciphersuites: readonly number[]; requester: string },
  clientId: string,
): Promise<ClientResult> {
  for (const ciphersuite of request.ciphersuites) {
    const pool = { username: request.username, clientId, ciphersuite };
    const served = await claimFromPool(deps, pool, request.requester);
    if (served) return { item: { clientId, ciphersuite, ...served } };
  }
  return { unavailable: await whyUnavailable(deps, request.username, clientId, request.ciphersuites) };
}

async function claimFromPool(
  deps: ClaimDeps,
  pool: PoolRef,
  requester: string,
): Promise<{ content: Uint8Array; lastResort: boolean } | undefined> {
  const key = poolKeyOf(deps.domain, pool);
  let rebuilt = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS_PER_POOL; attempt++) {
    const claimed = await deps.claims.claim(key);
    if (claimed && !claimed.lastResort) {
      const row = await markClaimed(deps.sql, pool, claimed.keyPackageId, { requester, now: deps.now() });
      if (row && !row.expired) return { content: row.content, lastResort: false };
      continue; // stale or expired: it is out of the store now, take the next one
    }
    if (!rebuilt) {
      rebuilt = true;
      const restored = await rebuildPool(deps, pool);
      const newLastResort =
        restored.lastResort !== undefined && restored.lastResort !== claimed?.keyPackageId;
      if (restored.available > 0 || newLastResort) continue;
    }
    if (claimed?.lastResort) {
      const content = await lastResortContent(deps.sql, pool, claimed.keyPackageId, deps.now());
      if (content) return { content, lastResort: true };
      // Replaced or expired since the store learned it.
      await deps.claims.remove(key, [claimed.keyPackageId]);
      continue;
    }
    return undefined;
  }
  deps.logger.warn({ pool }, "gave up claiming after too many stale ids");
  return undefined;
}

/**
 * Clients the remembered list had and SQL no longer has were deleted: their KeyPackages go now, after
 * the claim is answered (the claim never served them), rather than at the next sweep.
 */
function forgetDeletedClients(
  deps: ClaimDeps,
  username: string,
  remembered: readonly string[],
  current: readonly string[],
): void {
  const gone = remembered.filter((id) => !current.includes(id));
  if (gone.length === 0) return;
  purgeDeletedClients(deps, { limit: DELETED_CLIENT_BATCH, clientIds: gone }).catch((error: unknown) =>
    deps.logger.warn({ err: error, username }, "deleting KeyPackages of deleted clients failed"),
  );
}

/** Re-adds what SQL holds for one pool to the claim store; returns what was found. */
export async function rebuildPool(
  deps: ClaimDeps,
  pool: PoolRef,
): Promise<{ available: number; lastResort: string | undefined }> {
  const contents = await poolContents(deps.sql, pool, deps.now());
  const key = poolKeyOf(deps.domain, pool);
  if (contents.available.length > 0) await deps.claims.add(key, contents.available);
  if (contents.lastResort !== undefined) await deps.claims.setLastResort(key, contents.lastResort);
  return { available: contents.available.length, lastResort: contents.lastResort };
}

/** Rebuilds every pool SQL has something for (at start: the claim store may have lost its state). */
export async function rebuildAllPools(deps: ClaimDeps): Promise<number> {
  const pools = await poolsWithContent(deps.sql, deps.now());
  for (const pool of pools) await rebuildPool(deps, pool);
  return pools.length;
}

/** Makes freshly stored KeyPackages claimable; a replaced last resort is withdrawn first. */
export async function publishToClaimStore(
  deps: ClaimDeps,
  owner: { username: string; clientId: string },
  stored: { inserted: readonly NewKeyPackage[]; replacedLastResort?: { id: string; ciphersuite: number } },
): Promise<void> {
  if (stored.replacedLastResort) {
    const old = stored.replacedLastResort;
    await deps.claims.remove(poolKeyOf(deps.domain, { ...owner, ciphersuite: old.ciphersuite }), [old.id]);
  }
  const bySuite = new Map<number, string[]>();
  for (const kp of stored.inserted) {
    const key = poolKeyOf(deps.domain, { ...owner, ciphersuite: kp.ciphersuite });
    if (kp.lastResort) {
      await deps.claims.setLastResort(key, kp.id);
    } else {
      bySuite.set(kp.ciphersuite, [...(bySuite.get(kp.ciphersuite) ?? []), kp.id]);
    }
  }
  for (const [ciphersuite, ids] of bySuite) {
    await deps.claims.add(poolKeyOf(deps.domain, { ...owner, ciphersuite }), ids);
  }
}

async function whyUnavailable(
  deps: ClaimDeps,
  username: string,
  clientId: string,
  requested: readonly number[],
): Promise<UnavailableClient> {
  const summaries = await servableSummaries(deps.sql, username, deps.now());
  const otherSuites = [
    ...new Set(
      summaries
        .filter((kp) => kp.clientId === clientId && !requested.includes(kp.ciphersuite))
        .map((kp) => kp.ciphersuite),
    ),
  ];
  if (otherSuites.length > 0) {
    return {
      clientId,
      reason: "noKeyPackageInRequestedCiphersuites",
      detail: `this client has KeyPackages only in ${otherSuites.map(ciphersuiteName).join(", ")}`,
    };
  }
  return { clientId, reason: "noKeyPackages", detail: "this client has no KeyPackage left to claim" };
}
