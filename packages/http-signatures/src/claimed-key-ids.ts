import { parseCavageSignature } from "./cavage.js";
import { parseDictionary } from "./structured-fields.js";
import { MAX_MESSAGE_SIGNATURES } from "./verify.js";

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" || value === undefined ? value : value.join(", ");
}

/**
 * The key ids a request says it is signed with, read from its headers without verifying anything:
 * each RFC 9421 `Signature-Input` member's `keyid` (as many members as the verifier examines), else
 * the `keyId` of a draft-cavage `Signature`. Checks that must run before any key is fetched (blocked
 * domains, per-origin limits) read them; headers that do not parse give none, and the signature check
 * then refuses the request.
 */
export function claimedKeyIds(headers: Headers): string[] {
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

/** The origin of the first claimed key id (`https://host[:port]`), unverified; undefined without one. */
export function claimedKeyOrigin(headers: Headers): string | undefined {
  const [keyId] = claimedKeyIds(headers);
  if (keyId === undefined) return undefined;
  try {
    const origin = new URL(keyId).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}
