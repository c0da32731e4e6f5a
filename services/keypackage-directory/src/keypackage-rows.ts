import type { ClaimPoolKey } from "@mimi/claims";
import type { Sql, SqlExecutor } from "@mimi/store";

/**
 * Data access for the `keypackages` schema. Accounts and clients are identity's: they are read through
 * `@mimi/identity/reads` (and, inside the one claim statement, by `keypackages.confirm_claims`).
 */

export interface NewKeyPackage {
  /** base64url SHA-256 of `content`: the same bytes always get the same id. */
  id: string;
  ciphersuite: number;
  lastResort: boolean;
  content: Uint8Array;
  notAfter: Date;
}

/** Where one KeyPackage row belongs: a client's pool for one ciphersuite. */
export interface PoolRef {
  username: string;
  clientId: string;
  ciphersuite: number;
}

export type StoreUploadResult =
  | {
      ok: true;
      /** Rows written by this upload (ids already stored are left as they are). */
      inserted: NewKeyPackage[];
      alreadyStored: number;
      /** The last resort this upload replaced, so the claim store can forget it. */
      replacedLastResort?: { id: string; ciphersuite: number };
    }
  | { ok: false; reason: "tooManyStored"; detail: string };

/** An id the claim store handed out for one client, to be confirmed by SQL. */
export interface StorePick {
  clientId: string;
  keyPackageId: string;
  ciphersuite: number;
  lastResort: boolean;
  /**
   * How many of the requested suites (from the first) must have no unclaimed single-use KeyPackage of
   * this client in SQL for the pick to be the right one: the suites before the picked one, and for a
   * last resort the picked suite too. Zero for the usual case, a single-use id of the first suite.
   */
  preferredSuites: number;
}

/** What SQL says about one current client of the user and the store's pick for it, if any. */
export interface ConfirmedClient {
  clientId: string;
  /** Set when the pick was a single-use KeyPackage this statement marked claimed. */
  claimed?: { content: Uint8Array; expired: boolean };
  /** Set when the pick was the client's current, unexpired last resort. */
  lastResortContent?: Uint8Array;
  /** SQL holds an unclaimed single-use KeyPackage the store should have handed out before the pick. */
  storeBehind: boolean;
}

/** One claim to confirm: the user, what the store picked for its clients, and who asked. */
export interface PickedClaim {
  username: string;
  requestedSuites: readonly number[];
  picks: readonly StorePick[];
  requester: string;
}

/**
 * The one statement that confirms claims, several at once: marks the picked single-use KeyPackages
 * claimed (only those of the user's current clients and still unclaimed: the single-use step; an id
 * picked twice goes to one claim only), reads picked last resorts, tells whether the store was behind
 * SQL, and returns each user's current clients, oldest first. Per claim, in order: its clients, or
 * undefined when the account does not exist (then nothing of it is marked).
 */
export async function confirmPicks(
  sql: SqlExecutor,
  claims: readonly PickedClaim[],
  now: Date,
): Promise<Array<ConfirmedClient[] | undefined>> {
  const picks = claims.flatMap((claim, request) =>
    claim.picks.map((pick) => ({ ...pick, request: request + 1 })),
  );
  // (pick number, suite) pairs: the suites each pick must have no unclaimed single-use KeyPackage in.
  const preferredPick: number[] = [];
  const preferredSuite: number[] = [];
  picks.forEach((pick, index) => {
    const claim = claims[pick.request - 1];
    for (const suite of claim?.requestedSuites.slice(0, pick.preferredSuites) ?? []) {
      preferredPick.push(index + 1);
      preferredSuite.push(suite);
    }
  });
  const result = await sql.query<{
    request: number;
    account_found: boolean;
    client_id: string | null;
    claimed_content: Uint8Array | null;
    expired: boolean | null;
    last_resort_content: Uint8Array | null;
    store_behind: boolean;
  }>(
    "select * from keypackages.confirm_claims($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    [
      claims.map((claim) => claim.username),
      claims.map((claim) => claim.requester),
      picks.map((pick) => pick.request),
      picks.map((pick) => pick.clientId),
      picks.map((pick) => pick.keyPackageId),
      picks.map((pick) => pick.ciphersuite),
      picks.map((pick) => pick.lastResort),
      preferredPick,
      preferredSuite,
      now,
    ],
    { prepare: true },
  );
  const confirmed: Array<ConfirmedClient[] | undefined> = claims.map(() => undefined);
  for (const row of result.rows) {
    if (!row.account_found) continue;
    const clients = confirmed[row.request - 1] ?? [];
    confirmed[row.request - 1] = clients;
    if (row.client_id === null) continue;
    clients.push({
      clientId: row.client_id,
      ...(row.claimed_content
        ? { claimed: { content: row.claimed_content, expired: row.expired === true } }
        : {}),
      ...(row.last_resort_content ? { lastResortContent: row.last_resort_content } : {}),
      storeBehind: row.store_behind,
    });
  }
  return confirmed;
}

/**
 * Stores one client's upload in a single transaction (all or nothing), under a per-client lock so
 * the stored-count cap holds against concurrent uploads. A new last resort replaces the old one.
 */
export async function storeUpload(
  sql: Sql,
  upload: {
    username: string;
    clientId: string;
    keyPackages: readonly NewKeyPackage[];
    lastResort?: NewKeyPackage;
    maxStoredPerClient: number;
    now: Date;
  },
): Promise<StoreUploadResult> {
  return sql.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext('mimi-keypackages:' || $1))", [upload.clientId]);
    const batch = upload.lastResort ? [...upload.keyPackages, upload.lastResort] : [...upload.keyPackages];
    const existing = await tx.query<{ id: string }>(
      "select id from keypackages.key_packages where id = any($1::text[])",
      [batch.map((kp) => kp.id)],
    );
    const known = new Set(existing.rows.map((row) => row.id));
    const fresh = upload.keyPackages.filter((kp) => !known.has(kp.id));
    const stored = await tx.query<{ n: number }>(
      `select count(*)::int as n from keypackages.key_packages
       where client_id = $1 and not last_resort and claimed_at is null and not_after > $2`,
      [upload.clientId, upload.now],
    );
    const storedCount = stored.rows[0]?.n ?? 0;
    if (storedCount + fresh.length > upload.maxStoredPerClient) {
      return {
        ok: false,
        reason: "tooManyStored",
        detail: `the client already has ${storedCount} unclaimed KeyPackages; at most ${upload.maxStoredPerClient} may be stored`,
      };
    }
    for (const kp of fresh) await insertRow(tx, upload.username, upload.clientId, kp);

    let replacedLastResort: { id: string; ciphersuite: number } | undefined;
    const inserted = [...fresh];
    if (upload.lastResort && !known.has(upload.lastResort.id)) {
      const previous = await tx.query<{ id: string; ciphersuite: number }>(
        "delete from keypackages.key_packages where client_id = $1 and last_resort returning id, ciphersuite",
        [upload.clientId],
      );
      replacedLastResort = previous.rows[0];
      await insertRow(tx, upload.username, upload.clientId, upload.lastResort);
      inserted.push(upload.lastResort);
    }
    return {
      ok: true,
      inserted,
      alreadyStored: batch.length - inserted.length,
      ...(replacedLastResort ? { replacedLastResort } : {}),
    };
  });
}

async function insertRow(
  tx: SqlExecutor,
  username: string,
  clientId: string,
  kp: NewKeyPackage,
): Promise<void> {
  await tx.query(
    `insert into keypackages.key_packages (id, username, client_id, ciphersuite, last_resort, content, not_after)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [kp.id, username, clientId, kp.ciphersuite, kp.lastResort, kp.content, kp.notAfter],
  );
}

/**
 * The single-use step: marks one pool KeyPackage claimed and returns it, or undefined when it was
 * already claimed (a stale id in the claim store) or belongs elsewhere. An expired row is consumed too
 * (it can never be served), and reported as such.
 */
export async function markClaimed(
  sql: SqlExecutor,
  pool: PoolRef,
  keyPackageId: string,
  claim: { requester: string; now: Date },
): Promise<{ content: Uint8Array; expired: boolean } | undefined> {
  const result = await sql.query<{ content: Uint8Array; not_after: Date }>(
    `update keypackages.key_packages set claimed_at = $5, claimed_by = $6
     where id = $1 and username = $2 and client_id = $3 and ciphersuite = $4
       and not last_resort and claimed_at is null
     returning content, not_after`,
    [keyPackageId, pool.username, pool.clientId, pool.ciphersuite, claim.now, claim.requester],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return { content: row.content, expired: row.not_after <= claim.now };
}

/** The pool's current, unexpired last resort with this id (it is reusable, so nothing is marked). */
export async function lastResortContent(
  sql: SqlExecutor,
  pool: PoolRef,
  keyPackageId: string,
  now: Date,
): Promise<Uint8Array | undefined> {
  const result = await sql.query<{ content: Uint8Array }>(
    `select content from keypackages.key_packages
     where id = $1 and username = $2 and client_id = $3 and ciphersuite = $4 and last_resort and not_after > $5`,
    [keyPackageId, pool.username, pool.clientId, pool.ciphersuite, now],
  );
  return result.rows[0]?.content;
}

/** What SQL says a pool holds: unclaimed unexpired KeyPackage ids (oldest first) and the last resort. */
export async function poolContents(
  sql: SqlExecutor,
  pool: PoolRef,
  now: Date,
): Promise<{ available: string[]; lastResort: string | undefined }> {
  const result = await sql.query<{ id: string; last_resort: boolean }>(
    `select id, last_resort from keypackages.key_packages
     where username = $1 and client_id = $2 and ciphersuite = $3 and claimed_at is null and not_after > $4
     order by seq`,
    [pool.username, pool.clientId, pool.ciphersuite, now],
  );
  return {
    available: result.rows.filter((row) => !row.last_resort).map((row) => row.id),
    lastResort: result.rows.find((row) => row.last_resort)?.id,
  };
}

/** Every pool that has something to serve (for rebuilding the claim store at start). */
export async function poolsWithContent(sql: SqlExecutor, now: Date): Promise<PoolRef[]> {
  const result = await sql.query<{ username: string; client_id: string; ciphersuite: number }>(
    `select distinct username, client_id, ciphersuite from keypackages.key_packages
     where claimed_at is null and not_after > $1`,
    [now],
  );
  return result.rows.map((row) => ({
    username: row.username,
    clientId: row.client_id,
    ciphersuite: row.ciphersuite,
  }));
}

export interface StoredKeyPackageSummary {
  clientId: string;
  ciphersuite: number;
  id: string;
  lastResort: boolean;
}

/**
 * Unclaimed, unexpired KeyPackages stored for the user: ids and pools, never contents. Rows of clients
 * the user no longer has are among them; `countsByClient` keeps only the current clients'.
 */
export async function servableSummaries(
  sql: SqlExecutor,
  username: string,
  now: Date,
): Promise<StoredKeyPackageSummary[]> {
  const result = await sql.query<{
    client_id: string;
    ciphersuite: number;
    id: string;
    last_resort: boolean;
  }>(
    `select kp.client_id, kp.ciphersuite, kp.id, kp.last_resort
     from keypackages.key_packages kp
     where kp.username = $1 and kp.claimed_at is null and kp.not_after > $2
     order by kp.seq`,
    [username, now],
  );
  return result.rows.map((row) => ({
    clientId: row.client_id,
    ciphersuite: row.ciphersuite,
    id: row.id,
    lastResort: row.last_resort,
  }));
}

/** The claim store's pool key: the user is qualified with the domain so providers can share a Redis. */
export function poolKeyOf(domain: string, pool: PoolRef): ClaimPoolKey {
  return { user: `${pool.username}@${domain}`, client: pool.clientId, ciphersuite: pool.ciphersuite };
}
