import type { IncomingHttpHeaders } from "node:http";
import { parseCavageSignature, parseDictionary } from "@mimi/http-signatures";

/** More labelled RFC 9421 signatures than the verifier examines are not looked at here either. */
const MAX_MESSAGE_SIGNATURES = 3;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * The key ids a request claims to be signed with, read from its headers without verifying anything:
 * the `keyId` of a draft-cavage `Signature`, or the `keyid` of each RFC 9421 `Signature-Input` member
 * the verifier would examine. Headers that do not parse give none; the signature step refuses them.
 */
export function claimedKeyIds(headers: IncomingHttpHeaders): string[] {
  const input = header(headers, "signature-input");
  if (input !== undefined) {
    try {
      const keyIds: string[] = [];
      for (const member of [...parseDictionary(input).values()].slice(0, MAX_MESSAGE_SIGNATURES)) {
        const keyId = member.params.find(([name]) => name === "keyid")?.[1];
        if (keyId?.type === "string") keyIds.push(keyId.value);
      }
      return keyIds;
    } catch {
      return [];
    }
  }
  const signature = header(headers, "signature");
  if (signature === undefined) return [];
  const parsed = parseCavageSignature(signature);
  return parsed.ok ? [parsed.params.keyId] : [];
}

/**
 * What the operator's domain blocks are checked against, before any key is fetched: every key id
 * the request names (its origin is who would answer the key fetch) and the activity's actor.
 */
export function partiesOfDelivery(headers: IncomingHttpHeaders, actor: string): string[] {
  return [...claimedKeyIds(headers), actor];
}
