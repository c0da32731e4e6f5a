/**
 * Syntax of the names a client credential binds: the user and domain of the `acct:` URI and the
 * client id. The patterns exclude every character with meaning in the URIs and in the
 * proof-of-possession message (`@`, `:`, `/`, newline), so the encodings below are unambiguous.
 */

const USER_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
const DOMAIN_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
// Lowercase host name with an optional port (development setups run several domains on one host).
const DOMAIN_PATTERN = new RegExp(`^${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*(?::[0-9]{1,5})?$`);

export const ACCT_SCHEME = "acct:";
/** URI scheme of the second SAN, which names the client (device) the key belongs to. */
export const CLIENT_ID_SCHEME = "mimi-client:";

export interface ClientIdentity {
  user: string;
  domain: string;
  clientId: string;
}

export function isValidUser(user: string): boolean {
  return USER_PATTERN.test(user);
}

export function isValidDomain(domain: string): boolean {
  return domain.length <= 253 && DOMAIN_PATTERN.test(domain);
}

export function isValidClientId(clientId: string): boolean {
  return CLIENT_ID_PATTERN.test(clientId);
}

/** Checks the three names of a credential; `detail` says which one is wrong. */
export function validateClientIdentity(
  identity: ClientIdentity,
): { ok: true } | { ok: false; detail: string } {
  if (!isValidUser(identity.user))
    return { ok: false, detail: `invalid user ${JSON.stringify(identity.user)}` };
  if (!isValidDomain(identity.domain)) {
    return { ok: false, detail: `invalid domain ${JSON.stringify(identity.domain)} (lowercase host[:port])` };
  }
  if (!isValidClientId(identity.clientId)) {
    return { ok: false, detail: `invalid client id ${JSON.stringify(identity.clientId)}` };
  }
  return { ok: true };
}

export function acctUri(user: string, domain: string): string {
  return `${ACCT_SCHEME}${user}@${domain}`;
}

export function clientIdUri(clientId: string): string {
  return `${CLIENT_ID_SCHEME}${clientId}`;
}

/** URI schemes are case-insensitive (RFC 3986, 3.1): another issuer may write `ACCT:`. */
function hasScheme(uri: string, scheme: string): boolean {
  return uri.slice(0, scheme.length).toLowerCase() === scheme;
}

/** Parses `acct:user@domain`; the domain is compared case-insensitively, so it is lowercased. */
export function parseAcctUri(uri: string): { user: string; domain: string } | undefined {
  if (!hasScheme(uri, ACCT_SCHEME)) return undefined;
  const rest = uri.slice(ACCT_SCHEME.length);
  const at = rest.indexOf("@");
  if (at < 0) return undefined;
  const user = rest.slice(0, at);
  const domain = rest.slice(at + 1).toLowerCase();
  if (!isValidUser(user) || !isValidDomain(domain)) return undefined;
  return { user, domain };
}

export function parseClientIdUri(uri: string): string | undefined {
  if (!hasScheme(uri, CLIENT_ID_SCHEME)) return undefined;
  const clientId = uri.slice(CLIENT_ID_SCHEME.length);
  return isValidClientId(clientId) ? clientId : undefined;
}
