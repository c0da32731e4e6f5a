import type { InboxIngestContext } from "../context.js";
import { type IngestOutcome, refuse } from "./pipeline.js";
import { type Publication, publicationLogFields } from "./publications.js";

/**
 * The last step of every route: remember the dedupe key, then publish. A redelivery is a duplicate,
 * published before. When publishing fails the key is forgotten again and the request refused with a
 * retryable status, so the sender's retry is not mistaken for a duplicate of something never published.
 */
export async function publishOnce(
  ctx: Pick<InboxIngestContext, "seen" | "bus">,
  publication: Publication,
): Promise<IngestOutcome> {
  if (!(await ctx.seen.remember(publication.key))) return { kind: "duplicate", publication };
  try {
    await ctx.bus.publish(publication.topic, publication.messages);
  } catch (error) {
    await ctx.seen.forget(publication.key);
    return refuse("busUnavailable", "the activity could not be queued; retry later", {
      note: {
        level: "error",
        message: "publishing an accepted activity failed",
        fields: { ...publicationLogFields(publication), err: error },
      },
    });
  }
  return { kind: "accepted", publication };
}
