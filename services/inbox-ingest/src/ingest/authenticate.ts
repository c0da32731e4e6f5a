import { type VerifyFailure, verifyRequest } from "@mimi/http-signatures";
import type { InboxIngestContext } from "../context.js";
import type { InboxSigner } from "../domain/authorization.js";
import { type IngestRequest, proceed, type Refused, refuse, type StepResult } from "./pipeline.js";
import type { ReceivedActivity } from "./read-activity.js";

/**
 * The inboxes' authenticate step: the HTTP signature (draft-cavage or RFC 9421) over the exact body
 * bytes. A verified signer's server is reported reachable to delivery, whatever the activity turns
 * out to be.
 */
export async function verifySignature(
  ctx: Pick<InboxIngestContext, "keys" | "now" | "settings" | "publicScheme" | "reachable">,
  request: IngestRequest,
  received: ReceivedActivity,
): Promise<StepResult<InboxSigner>> {
  const verified = await verifyRequest(
    { method: request.method, path: request.path, headers: request.headers, body: received.body },
    ctx.keys,
    { now: ctx.now(), clockSkewSeconds: ctx.settings.clockSkewSeconds, scheme: ctx.publicScheme },
  );
  if (!verified.ok) return signatureRefusal(verified, received.activity.id);
  await ctx.reachable(new URL(verified.keyOwner).origin);
  return proceed({ keyId: verified.keyId, keyOwner: verified.keyOwner });
}

/**
 * A failed signature check, refused with the verifier's reason. Why a key could not be fetched is
 * logged, not answered: the answer must not map this provider's network for the sender.
 */
export function signatureRefusal(failure: VerifyFailure, activityId: string): Refused {
  const detail =
    failure.reason === "keyFetchError" ? "the signature's key could not be fetched or used" : failure.detail;
  return refuse(failure.reason, detail, {
    note: {
      level: "info",
      message: "inbox signature rejected",
      fields: { activityId, reason: failure.reason, detail: failure.detail },
    },
  });
}
