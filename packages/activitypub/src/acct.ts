/**
 * `acct:` URIs (RFC 7565) name a user's account at a provider: `acct:alice@a.example`.
 * The user part is percent-decoded; the host is lower-cased. Usernames on this provider are
 * `[a-z0-9_]{1,30}`, but remote providers may use other characters, so parsing is permissive
 * and `isLocalUsername` is the local policy.
 */
export interface Acct {
  user: string;
  host: string;
}

export type AcctParseResult = { ok: true; acct: Acct } | { ok: false; reason: string };

const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/;
const USER_UNRESERVED = /^[A-Za-z0-9\-._~!$&'()*+,;=%]+$/;

export const LOCAL_USERNAME = /^[a-z0-9_]{1,30}$/;

export function isLocalUsername(value: string): boolean {
  return LOCAL_USERNAME.test(value);
}

/** Parses `acct:user@host`; also accepts the `user@host` and `@user@host` shorthands when `lenient`. */
export function parseAcct(input: string, options: { lenient?: boolean } = {}): AcctParseResult {
  let rest = input.trim();
  if (rest.toLowerCase().startsWith("acct:")) rest = rest.slice(5);
  else if (!options.lenient) return { ok: false, reason: "resource must be an acct: URI" };
  else if (rest.startsWith("@")) rest = rest.slice(1);
  const at = rest.lastIndexOf("@");
  if (at <= 0 || at === rest.length - 1)
    return { ok: false, reason: "acct URI must have the form acct:user@host" };
  const rawUser = rest.slice(0, at);
  const host = rest.slice(at + 1).toLowerCase();
  if (!USER_UNRESERVED.test(rawUser))
    return { ok: false, reason: "acct user part has characters RFC 7565 does not allow" };
  let user: string;
  try {
    user = decodeURIComponent(rawUser);
  } catch {
    return { ok: false, reason: "acct user part has a malformed percent-encoding" };
  }
  if (user.includes("@")) return { ok: false, reason: "acct user part must not contain a second @" };
  if (!HOST.test(host)) return { ok: false, reason: "acct host is not a valid host name" };
  return { ok: true, acct: { user, host } };
}

export function formatAcct(acct: Acct): string {
  return `acct:${encodeURIComponent(acct.user).replace(/%40/g, "@")}@${acct.host}`;
}

/** `alice@a.example`, the handle people type. */
export function handleOf(acct: Acct): string {
  return `${acct.user}@${acct.host}`;
}
