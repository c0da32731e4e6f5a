import { createHash, randomBytes } from "node:crypto";
import type { SqlExecutor } from "@mimi/store";
import { DAY_MS, DEFAULT_SESSION_IDLE_DAYS, decideSession, LAST_USED_WRITE_INTERVAL_MS } from "./session.js";

/**
 * Bearer tokens are random 256-bit strings shown to the client once; only their SHA-256 is stored,
 * so a database leak does not hand out sessions. The table lives in the identity schema
 * (`identity.tokens`); other services read it to authenticate client calls.
 */
export const TOKEN_PREFIX = "mimi_";

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface Principal {
  username: string;
}

/** Why a token was refused: unknown, malformed or revoked; or a session unused past the idle limit. */
export type TokenRefusal = "invalidToken" | "sessionExpired";

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: TokenRefusal };

export interface TokenVerifier {
  /** Who a token belongs to, or why it is refused. A valid use slides the session (throttled write). */
  check(token: string): Promise<TokenCheck>;
  /** `check` without the reason: the principal, or undefined when refused. */
  verify(token: string): Promise<Principal | undefined>;
  /** Forget cached answers for a user (after revocation). */
  forget(username: string): void;
}

/** What the cache remembers of a token: the facts the decision needs, never the decision itself. */
interface CachedToken {
  /** Undefined for a token unknown or revoked. */
  username: string | undefined;
  lastUsedMs: number;
  idleMs: number;
  cachedUntil: number;
}

interface TokenRow {
  username: string;
  last_used_at: Date | string;
  idle_seconds: number | null;
}

/**
 * Verifies against `identity.tokens`, caching answers briefly so every request is not a query. The
 * idle limit is identity's `identity.session_policy` (identity writes its setting there at start, so
 * every service refuses the same sessions without a setting of its own).
 */
export function createTokenVerifier(
  sql: SqlExecutor,
  options: {
    cacheTtlMs?: number;
    maxEntries?: number;
    /** Milliseconds since the epoch; tests move it. */
    now?: () => number;
    /** How often a token's last use is written at most (default one hour). */
    lastUsedWriteIntervalMs?: number;
  } = {},
): TokenVerifier {
  const ttl = options.cacheTtlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const writeIntervalMs = options.lastUsedWriteIntervalMs ?? LAST_USED_WRITE_INTERVAL_MS;
  const cache = new Map<string, CachedToken>();

  async function load(key: string, nowMs: number): Promise<CachedToken> {
    const cached = cache.get(key);
    if (cached && cached.cachedUntil > nowMs) return cached;
    const result = await sql.query<TokenRow>(
      `select t.username, t.last_used_at, p.idle_seconds
         from identity.tokens t left join identity.session_policy p on p.id
        where t.token_hash = $1 and t.revoked_at is null`,
      [key],
    );
    const row = result.rows[0];
    const entry: CachedToken = {
      username: row?.username,
      lastUsedMs: row ? new Date(row.last_used_at).getTime() : 0,
      idleMs: row?.idle_seconds != null ? row.idle_seconds * 1000 : DEFAULT_SESSION_IDLE_DAYS * DAY_MS,
      cachedUntil: nowMs + ttl,
    };
    cache.delete(key);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(key, entry);
    return entry;
  }

  /** Writes the use unless another replica wrote one within the interval; a failed write is retried next use. */
  async function recordUse(key: string, entry: CachedToken, nowMs: number): Promise<void> {
    const previous = entry.lastUsedMs;
    // Set first: concurrent requests of this token see the new time and do not write too.
    entry.lastUsedMs = nowMs;
    try {
      await sql.query(
        "update identity.tokens set last_used_at = $2 where token_hash = $1 and revoked_at is null and last_used_at <= $3",
        [key, new Date(nowMs), new Date(nowMs - writeIntervalMs)],
      );
    } catch (error) {
      entry.lastUsedMs = previous;
      throw error;
    }
  }

  async function check(token: string): Promise<TokenCheck> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return { ok: false, reason: "invalidToken" };
    const key = hashToken(token);
    const nowMs = now();
    const entry = await load(key, nowMs);
    if (entry.username === undefined) return { ok: false, reason: "invalidToken" };
    const decision = decideSession({
      lastUsedMs: entry.lastUsedMs,
      nowMs,
      idleMs: entry.idleMs,
      writeIntervalMs,
    });
    if (!decision.valid) return { ok: false, reason: "sessionExpired" };
    if (decision.recordUse) await recordUse(key, entry, nowMs);
    return { ok: true, principal: { username: entry.username } };
  }

  return {
    check,
    async verify(token) {
      const checked = await check(token);
      return checked.ok ? checked.principal : undefined;
    },
    forget(username) {
      for (const [key, entry] of cache) if (entry.username === username) cache.delete(key);
    },
  };
}
