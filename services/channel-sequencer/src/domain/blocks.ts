import { hostIsBlocked, hostOf } from "@mimi/identity/reads";

/** The `mimi:reason` of a Reject refusing the Add of a user of a domain this provider blocked. */
export const DOMAIN_BLOCKED = "domainBlocked";

/**
 * The channel's server refuses to add a user of a domain its operator blocked (or below one): the
 * blocked server would then be a member's host, and the channel would forward to it. Before any MLS
 * work. `undefined` lets the Add through.
 */
export function blockedAddRefusal(
  object: string,
  blockedDomains: ReadonlySet<string>,
): { summary: string; reason: typeof DOMAIN_BLOCKED } | undefined {
  const host = hostOf(object);
  if (host === undefined || !hostIsBlocked(host, blockedDomains)) return undefined;
  return { summary: `this channel's server does not federate with ${host}`, reason: DOMAIN_BLOCKED };
}
