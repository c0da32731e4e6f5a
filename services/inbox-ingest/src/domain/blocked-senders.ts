import type { IncomingHttpHeaders } from "node:http";
import { claimedKeyIds } from "@mimi/http-signatures";

/**
 * What the operator's domain blocks are checked against, before any key is fetched: every key id
 * the request names (its origin is who would answer the key fetch) and the activity's actor.
 */
export function partiesOfDelivery(headers: IncomingHttpHeaders, actor: string): string[] {
  return [...claimedKeyIds(headers), actor];
}
