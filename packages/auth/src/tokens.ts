import { createHash, randomBytes } from "node:crypto";
import type { SqlExecutor } from "@mimi/store";

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

export interface TokenVerifier {
  verify(token: string): Promise<Principal | undefined>;
  /** Forget cached answers for a user (after revocation). */
  forget(username: string): void;
}

/** Verifies against `identity.tokens`, caching answers briefly so every request is not a query. */
export function createTokenVerifier(
  sql: SqlExecutor,
  options: { cacheTtlMs?: number; maxEntries?: number } = {},
): TokenVerifier {
  const ttl = options.cacheTtlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { principal: Principal | undefined; expires: number }>();
  return {
    async verify(token) {
      if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
      const key = hashToken(token);
      const cached = cache.get(key);
      if (cached && cached.expires > Date.now()) return cached.principal;
      const result = await sql.query<{ username: string }>(
        "select username from identity.tokens where token_hash = $1 and revoked_at is null",
        [key],
      );
      const row = result.rows[0];
      const principal = row ? { username: row.username } : undefined;
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(key, { principal, expires: Date.now() + ttl });
      return principal;
    },
    forget(username) {
      for (const [key, entry] of cache) if (entry.principal?.username === username) cache.delete(key);
    },
  };
}
