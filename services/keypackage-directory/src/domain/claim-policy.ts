import { hostIsBlocked, hostOf } from "@mimi/identity/reads";
import type { ClaimDocumentUnavailable } from "./claim-document.js";

/** Why a claim is refused by the claim policy; `undefined` lets it through. */
export type ClaimRefusal = { reason: "domainBlocked"; detail: string };

/**
 * A server-to-server claim: refused when a key id it names is on a domain the operator blocked (or
 * below one), before the key is fetched.
 */
export function serverClaimRefusal(
  keyIds: readonly string[],
  blockedDomains: ReadonlySet<string>,
): ClaimRefusal | undefined {
  for (const keyId of keyIds) {
    const host = hostOf(keyId);
    if (host !== undefined && hostIsBlocked(host, blockedDomains)) {
      return { reason: "domainBlocked", detail: "this provider does not answer claims from that domain" };
    }
  }
  return undefined;
}

/** A local client's claim of `targetHost`'s user: refused when that domain is blocked by the operator. */
export function clientClaimRefusal(
  targetHost: string,
  blockedDomains: ReadonlySet<string>,
): ClaimRefusal | undefined {
  // An acct's host may carry a port (`localhost:8081`); blocks name hosts.
  if (hostIsBlocked(targetHost.replace(/:\d+$/, ""), blockedDomains)) {
    return { reason: "domainBlocked", detail: `this provider does not federate with ${targetHost}` };
  }
  return undefined;
}

/**
 * The answer to a claim the target's blocks refuse: every client listed as out of KeyPackages, as
 * a drained pool answers, so the blocked requester cannot tell a block from an empty pool.
 */
export function concealedRefusal(clientIds: readonly string[]): ClaimDocumentUnavailable[] {
  return clientIds.map((clientId) => ({
    clientId,
    reason: "noKeyPackages",
    detail: "this client has no KeyPackage left to claim",
  }));
}
