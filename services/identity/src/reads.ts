import { BoundedCache } from "@mimi/service-kit";
import type { SqlExecutor } from "@mimi/store";

/**
 * What other services read of identity's data: accounts, their clients, the CAs that vouch for
 * client credentials, blocks and consent. This module (`@mimi/identity/reads`) holds the SQL outside
 * identity that names the `identity` schema, next to the migrations that define it, so a schema change
 * and the reads that depend on it change together; keypackage-directory's `confirm_claims` function
 * and its sweep of deleted clients' KeyPackages are the two statements that join it elsewhere. The services share the provider's database (in the split
 * deployment too), so these are plain statements with no network hop; the module imports nothing
 * but @mimi/store's types, so a service that uses it does not load identity's routes or the CA code.
 *
 * A deleted account (kept through its name's quarantine, `deleted_at` set) does not exist for the
 * other services: nothing is delivered to its mailbox, its KeyPackages are not claimed, its outbox
 * takes nothing.
 */

/** Which of `usernames` have an account on this provider. */
export async function existingUsernames(
  sql: SqlExecutor,
  usernames: readonly string[],
): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  const result = await sql.query<{ username: string }>(
    "select username from identity.accounts where username = any($1::text[]) and deleted_at is null",
    [usernames],
  );
  return new Set(result.rows.map((row) => row.username));
}

export async function accountExists(sql: SqlExecutor, username: string): Promise<boolean> {
  const result = await sql.query(
    "select 1 from identity.accounts where username = $1 and deleted_at is null",
    [username],
  );
  return result.rows.length > 0;
}

/** Whether `clientId` is one of `username`'s current clients. */
export async function clientBelongsTo(
  sql: SqlExecutor,
  username: string,
  clientId: string,
): Promise<boolean> {
  const result = await sql.query("select 1 from identity.clients where id = $1 and username = $2", [
    clientId,
    username,
  ]);
  return result.rows.length > 0;
}

/** The user's current clients, oldest first (none for an unknown user). */
export async function clientIdsOf(sql: SqlExecutor, username: string): Promise<string[]> {
  const result = await sql.query<{ id: string }>(
    "select id from identity.clients where username = $1 order by created_at, id",
    [username],
  );
  return result.rows.map((row) => row.id);
}

export type AccountClients = { exists: false } | { exists: true; clientIds: string[] };

/** Whether the account exists and its current clients, oldest first, in one statement. */
export async function accountClients(sql: SqlExecutor, username: string): Promise<AccountClients> {
  const result = await sql.query<{ id: string | null }>(
    `select c.id from identity.accounts a left join identity.clients c on c.username = a.username
     where a.username = $1 and a.deleted_at is null order by c.created_at, c.id`,
    [username],
  );
  if (result.rows.length === 0) return { exists: false };
  return { exists: true, clientIds: result.rows.flatMap((row) => (row.id === null ? [] : [row.id])) };
}

/**
 * The PEM certificates of this provider's CAs that vouch for client credentials, newest first: the
 * active CA and those not yet retired after a rotation (what `/.well-known/mimi-configuration`
 * publishes as `credential_issuers`).
 */
export async function trustedIssuersPem(sql: SqlExecutor): Promise<string[]> {
  const result = await sql.query<{ certificate_pem: string }>(
    "select certificate_pem from identity.certificate_authorities where retired_at is null order by id desc",
  );
  return result.rows.map((row) => row.certificate_pem);
}

/** The domains the operator blocked (MIMI_BLOCKED_DOMAINS and the admin API), in no order. */
export async function blockedDomains(sql: SqlExecutor): Promise<string[]> {
  const result = await sql.query<{ domain: string }>("select domain from identity.blocked_domains");
  return result.rows.map((row) => row.domain);
}

/**
 * Whether `host` (a URL's hostname, or a domain of an acct) is one of `domains` or below one: a block
 * covers the subdomains. Ports play no part. Checked by walking up the host's labels, so the cost is
 * the number of labels, not of blocks.
 */
export function hostIsBlocked(host: string, domains: ReadonlySet<string>): boolean {
  let name = host.toLowerCase().replace(/\.$/, "");
  for (;;) {
    if (domains.has(name)) return true;
    const dot = name.indexOf(".");
    if (dot < 0) return false;
    name = name.slice(dot + 1);
  }
}

/** The host of an actor or key URL, or `undefined` when it is not an absolute URL. */
export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** How long a service keeps using a block list it read: a new block takes effect within this time. */
export const BLOCK_LIST_TTL_MS = 10_000;

/** The operator's domain blocks as every other service asks about them. */
export interface DomainBlocks {
  /** Whether the host of `urlOrHost` (an absolute URL, or a bare host) is blocked. */
  blocks(urlOrHost: string): Promise<boolean>;
  /** The blocked domains as now known, for checking many hosts at once with `hostIsBlocked`. */
  snapshot(): Promise<ReadonlySet<string>>;
}

/**
 * The operator's blocks, read at most once per `ttlMs` (concurrent reads share one query). The
 * list is one value, so the cache is bounded by the list itself, which only operators grow.
 */
export function createDomainBlocks(
  sql: SqlExecutor,
  options: { ttlMs?: number; now?: () => number } = {},
): DomainBlocks {
  const ttlMs = options.ttlMs ?? BLOCK_LIST_TTL_MS;
  const now = options.now ?? Date.now;
  let held: { domains: ReadonlySet<string>; readAt: number } | undefined;
  let reading: Promise<ReadonlySet<string>> | undefined;
  const current = async (): Promise<ReadonlySet<string>> => {
    if (held && now() < held.readAt + ttlMs) return held.domains;
    reading ??= blockedDomains(sql)
      .then((domains) => {
        const set = new Set(domains);
        held = { domains: set, readAt: now() };
        return set;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  return {
    async blocks(urlOrHost) {
      const host = urlOrHost.includes("://") ? hostOf(urlOrHost) : urlOrHost;
      if (host === undefined || host === "") return false;
      return hostIsBlocked(host, await current());
    },
    snapshot: current,
  };
}

/** One of a user's blocks: another user (`user@host`, user lower-cased) or a domain. */
export interface UserBlock {
  readonly target: string;
  readonly kind: "user" | "domain";
}

/** The users and domains `username` blocked (none for an unknown user). */
export async function userBlocks(sql: SqlExecutor, username: string): Promise<UserBlock[]> {
  const result = await sql.query<UserBlock>(
    "select target, kind from identity.user_blocks where username = $1",
    [username],
  );
  return result.rows;
}

/**
 * Whether `blocks` cover the actor at `actorUrl`. A domain block covers every actor on that host or
 * below it. A user block `bob@b.example` covers an actor on host `b.example` (with the acct's port,
 * if it names one) whose URL ends in the segment `bob` or `@bob` (`/users/bob`, `/@bob`, `/u/bob`):
 * the layouts ActivityPub servers use. A server that names actors otherwise is reached by a domain
 * block only.
 */
export function blocksActor(blocks: readonly UserBlock[], actorUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(actorUrl);
  } catch {
    return false;
  }
  const host = url.hostname.toLowerCase();
  const segments = url.pathname.split("/").filter((segment) => segment.length > 0);
  let last = segments.at(-1);
  try {
    last = last === undefined ? undefined : decodeURIComponent(last).replace(/^@/, "").toLowerCase();
  } catch {
    last = undefined;
  }
  const domains = new Set<string>();
  for (const block of blocks) {
    if (block.kind === "domain") {
      domains.add(block.target);
      continue;
    }
    const at = block.target.lastIndexOf("@");
    const user = block.target.slice(0, at);
    const blockedHost = block.target.slice(at + 1);
    const hostMatches = blockedHost.includes(":")
      ? blockedHost === url.host.toLowerCase()
      : blockedHost === host;
    if (hostMatches && last === user) return true;
  }
  return domains.size > 0 && hostIsBlocked(host, domains);
}

/** Users whose blocks a service keeps at once; the least recently used are dropped first. */
export const USER_BLOCKS_CACHE_ENTRIES = 10_000;

/** Users' blocks as the other services ask about them. */
export interface UserBlocksView {
  /** Whether local user `username` blocked the actor at `actorUrl` (or its domain). */
  blocks(username: string, actorUrl: string): Promise<boolean>;
}

/**
 * Users' blocks, each user's list read at most once per `ttlMs` and kept for at most `maxEntries`
 * users (@mimi/bounded-cache), so a flood of deliveries to many users costs bounded memory.
 */
export function createUserBlocks(
  sql: SqlExecutor,
  options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
): UserBlocksView {
  const cache = new BoundedCache<string, Promise<UserBlock[]>>({
    maxEntries: options.maxEntries ?? USER_BLOCKS_CACHE_ENTRIES,
    ttlMs: options.ttlMs ?? BLOCK_LIST_TTL_MS,
    now: options.now ?? Date.now,
  });
  const listOf = (username: string): Promise<UserBlock[]> => {
    const held = cache.get(username);
    if (held) return held;
    const reading = userBlocks(sql, username);
    cache.set(username, reading);
    // A failed read is not remembered: the next check asks again.
    reading.catch(() => cache.delete(username));
    return reading;
  };
  return {
    async blocks(username, actorUrl) {
      const list = await listOf(username);
      return list.length > 0 && blocksActor(list, actorUrl);
    },
  };
}

/** Contacts one user keeps at most; further ones are not recorded (their claims then need consent). */
export const MAX_CONTACTS_PER_USER = 10_000;

/**
 * Whether `username` requires consent before being claimed, and whether `requester` (an actor URL)
 * is already one of their contacts; one statement.
 */
export async function consentCheck(
  sql: SqlExecutor,
  username: string,
  requester: string,
): Promise<{ required: boolean; contact: boolean }> {
  const result = await sql.query<{ required: boolean | null; contact: boolean }>(
    `select (select required from identity.consent_policy where username = $1) as required,
            exists (select 1 from identity.contacts where username = $1 and contact = $2) as contact`,
    [username, requester],
  );
  const row = result.rows[0];
  return { required: row?.required === true, contact: row?.contact === true };
}

/**
 * Records that `requester` asked to claim `username` (the invite `mimi invites` lists), at most
 * `perUser` open invites per user and `perRequester` per requester across this provider's users; a
 * repeated request only refreshes its time. Returns whether the invite is held.
 */
export async function recordInvite(
  sql: SqlExecutor,
  invite: { username: string; requester: string; perUser: number; perRequester: number },
): Promise<boolean> {
  const result = await sql.query(
    `insert into identity.invites (username, requester)
     select $1, $2
      where exists (select 1 from identity.invites where username = $1 and requester = $2)
         or ((select count(*) from identity.invites where username = $1) < $3
             and (select count(*) from identity.invites where requester = $2) < $4)
     on conflict (username, requester) do update set requested_at = now()`,
    [invite.username, invite.requester, invite.perUser, invite.perRequester],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Records `contact` (an actor URL) as a contact of `username` because the user claimed them. */
export async function recordClaimedContact(
  sql: SqlExecutor,
  username: string,
  contact: string,
): Promise<void> {
  await sql.query(
    `insert into identity.contacts (username, contact, source)
     select $1, $2, 'claimed'
      where exists (select 1 from identity.accounts where username = $1 and deleted_at is null)
        and (select count(*) from identity.contacts where username = $1) < $3
     on conflict (username, contact) do nothing`,
    [username, contact, MAX_CONTACTS_PER_USER],
  );
}
