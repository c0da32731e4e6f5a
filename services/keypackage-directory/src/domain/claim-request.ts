import { z } from "zod";

/** The claim request body, `{"ciphersuites": [names or numbers]}`, in the requester's order. */
export const ciphersuiteListSchema = z
  .array(z.union([z.string().min(1).max(100), z.number().int().min(1).max(0xffff)]))
  .min(1, "name at least one ciphersuite")
  .max(32);

const claimRequestSchema = z.object({ ciphersuites: ciphersuiteListSchema });

export type ClaimRequestParse =
  | { ok: true; ciphersuites: Array<string | number> }
  | { ok: false; detail: string };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The list when the body has exactly the shape `claimRequestSchema` accepts (checked by hand: every
 * claim passes here, so the schema only runs to word the reason for a refusal).
 */
function wellFormedCiphersuites(json: unknown): Array<string | number> | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const list: unknown = (json as { ciphersuites?: unknown }).ciphersuites;
  if (!Array.isArray(list) || list.length < 1 || list.length > 32) return undefined;
  for (const entry of list) {
    if (typeof entry === "string") {
      if (entry.length < 1 || entry.length > 100) return undefined;
    } else if (!Number.isInteger(entry) || entry < 1 || entry > 0xffff) {
      return undefined;
    }
  }
  return list as Array<string | number>;
}

export function parseClaimRequest(body: Uint8Array): ClaimRequestParse {
  let json: unknown;
  try {
    json = JSON.parse(strictUtf8.decode(body));
  } catch {
    return { ok: false, detail: "the body is not JSON" };
  }
  const ciphersuites = wellFormedCiphersuites(json);
  if (ciphersuites) return { ok: true, ciphersuites };
  const parsed = claimRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, detail: issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "bad body" };
  }
  return { ok: true, ciphersuites: parsed.data.ciphersuites };
}
