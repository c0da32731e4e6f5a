import { parseAcct } from "@mimi/activitypub";
import { parseBlockableDomain } from "./blocked-domains.js";

/**
 * What a user may block: another user (`bob@b.example`, stored lower-cased as written) or a whole
 * domain (`b.example`, subdomains included). Matching a sender against these lives in `../reads.ts`,
 * which the other services load.
 */
export type UserBlockTarget = { kind: "user"; target: string } | { kind: "domain"; target: string };

export type UserBlockParse = { ok: true; block: UserBlockTarget } | { ok: false; detail: string };

/** `user@host` (an `acct:` or `@` prefix is dropped), or a bare domain. */
export function parseUserBlockTarget(input: string): UserBlockParse {
  const text = input.trim();
  if (text.length === 0 || text.length > 300) return { ok: false, detail: "name a user@domain or a domain" };
  if (
    !text
      .replace(/^acct:/i, "")
      .replace(/^@/, "")
      .includes("@")
  ) {
    const domain = parseBlockableDomain(text);
    return domain.ok
      ? { ok: true, block: { kind: "domain", target: domain.domain } }
      : { ok: false, detail: domain.detail };
  }
  const acct = parseAcct(text, { lenient: true });
  if (!acct.ok) return { ok: false, detail: acct.reason };
  return { ok: true, block: { kind: "user", target: `${acct.acct.user.toLowerCase()}@${acct.acct.host}` } };
}
