import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import type { InboxIngestContext } from "../context.js";
import { referenceIds } from "../domain/addressing.js";

/**
 * After an authorized `Delete` of an actor (their account is gone, said by them, their origin or their
 * channel): their cached keys are dropped, so a request signed with one of them later fetches the key
 * again and finds none, instead of verifying against the cache for up to a day. Dropping a key costs
 * at most one fetch, so no more proof is needed than the authorization the Delete already passed.
 */
export function forgetKeysOfDeletedActor(ctx: InboxIngestContext, activity: ActivityEnvelope): void {
  if (activity.type !== "Delete") return;
  const actor = actorIdOf(activity);
  const objects = referenceIds(activity.object);
  if (objects.length !== 1 || objects[0] !== actor) return;
  const forgotten = ctx.keys.forgetOwner(actor);
  if (forgotten > 0) ctx.logger.info({ actor, keys: forgotten }, "deleted actor's cached keys dropped");
}
