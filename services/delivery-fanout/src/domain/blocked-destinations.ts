import { hostIsBlocked, hostOf } from "@mimi/identity/reads";

/**
 * Which audience entries (actor, collection or inbox URLs) are on a domain the operator blocked, or
 * below one. They are dropped before expansion, so no actor document or collection is even fetched
 * from a blocked server. Entries that are not URLs are kept: expansion reports them.
 */
export function splitBlockedAudience(
  audience: readonly string[],
  blocked: ReadonlySet<string>,
): { allowed: string[]; blocked: string[] } {
  const allowed: string[] = [];
  const refused: string[] = [];
  for (const uri of audience) {
    const host = hostOf(uri);
    if (host !== undefined && hostIsBlocked(host, blocked)) refused.push(uri);
    else allowed.push(uri);
  }
  return { allowed, blocked: refused };
}

/** Whether a delivery's destination origin (`destinationKey`, `scheme://host[:port]`) is blocked. */
export function destinationIsBlocked(destination: string, blocked: ReadonlySet<string>): boolean {
  // Asked once per delivery: without blocks, no URL needs parsing.
  if (blocked.size === 0) return false;
  const host = hostOf(destination);
  return host !== undefined && hostIsBlocked(host, blocked);
}
