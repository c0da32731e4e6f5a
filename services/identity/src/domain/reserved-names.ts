import { LOCAL_USERNAME } from "@mimi/activitypub";

/**
 * Names nobody may register: the role mailboxes of RFC 2142 and their kin, names people take for the
 * provider's staff, and words of the provider's own URLs. A user called `admin` or `security` could
 * pass for the operator in a channel invitation or a support request.
 */
export const RESERVED_USERNAMES: readonly string[] = [
  // RFC 2142 and the common role mailboxes
  "abuse",
  "admin",
  "administrator",
  "hostmaster",
  "info",
  "mailer_daemon",
  "marketing",
  "noc",
  "noreply",
  "no_reply",
  "postmaster",
  "root",
  "sales",
  "security",
  "support",
  "webmaster",
  "www",
  // the provider and its staff
  "help",
  "mod",
  "moderator",
  "moderators",
  "official",
  "operator",
  "owner",
  "staff",
  "sysadmin",
  "system",
  "team",
  "mimi",
  // words of its URLs and documents
  "actor",
  "api",
  "channels",
  "inbox",
  "instance",
  "localhost",
  "nodeinfo",
  "outbox",
  "users",
  "well_known",
];

/**
 * The reserved names of one provider: the list above, the instance actor's name (its domain, which
 * is a valid username when it has no dot, such as `localhost`) and the operator's own additions.
 */
export function reservedUsernames(domain: string, extra: readonly string[] = []): ReadonlySet<string> {
  const names = new Set([...RESERVED_USERNAMES, ...extra.map((name) => name.toLowerCase())]);
  if (LOCAL_USERNAME.test(domain)) names.add(domain);
  return names;
}
