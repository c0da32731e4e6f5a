import type { IssuersFor } from "@mimi/credentials";
import { trustedIssuersPem } from "@mimi/identity/reads";
import type { SqlExecutor } from "@mimi/store";

const ISSUERS_TTL_MS = 60_000;

/**
 * This provider's own credential issuers, read through identity's read module (the active CA and any
 * not yet retired during a rotation). Uploads are only ever checked against the local domain; any
 * other domain is refused. Cached briefly; a `refresh` (no issuer matched) reads them again.
 */
export function createLocalIssuers(
  sql: SqlExecutor,
  domain: string,
  clock: () => number = Date.now,
): IssuersFor {
  let cached: { issuersPem: string[]; readAt: number } | undefined;
  return async (requestedDomain, options) => {
    if (requestedDomain !== domain) {
      return { ok: false, detail: `only credentials of ${domain} are accepted here` };
    }
    if (!cached || options?.refresh === true || clock() - cached.readAt > ISSUERS_TTL_MS) {
      cached = { issuersPem: await trustedIssuersPem(sql), readAt: clock() };
    }
    if (cached.issuersPem.length === 0) return { ok: false, detail: "this provider has no CA yet" };
    return { ok: true, issuersPem: cached.issuersPem };
  };
}
