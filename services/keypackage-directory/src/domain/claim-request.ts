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

export function parseClaimRequest(body: Uint8Array): ClaimRequestParse {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { ok: false, detail: "the body is not JSON" };
  }
  const parsed = claimRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, detail: issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "bad body" };
  }
  return { ok: true, ciphersuites: parsed.data.ciphersuites };
}
