import { type ActivityEnvelope, parseAcct } from "@mimi/activitypub";
import type { InboxIngestContext } from "../context.js";
import { checkDmMessage, isAheadOf, isDmMessageShape, readDmMessage } from "../domain/dm-message.js";
import { proceed, refuse, type StepResult } from "./pipeline.js";

/**
 * The group DM step (docs/protocol.md section 14.4), for an author's activity at a personal or the
 * shared inbox and for a local user's outbox submission: a Create{PrivateMessage} with a `context` and
 * no `target` is a DM message, and goes on only when it matches the DM group `context` names. Anything
 * else passes untouched. The signer is already known to be the actor (authorization).
 */
export async function checkDmDelivery(
  ctx: Pick<InboxIngestContext, "urls" | "dmGroups" | "settings">,
  activity: ActivityEnvelope,
): Promise<StepResult<undefined>> {
  if (!isDmMessageShape(activity)) return proceed(undefined);
  const maxParticipants = ctx.settings.dmMaxParticipants;
  const message = readDmMessage(activity, maxParticipants);
  if (!message.ok) return refuse(message.reason, message.detail);
  const groupUrl = message.value.context;
  let read = await ctx.dmGroups(groupUrl, { refresh: false });
  // A message for an epoch newer than the cached one: the group may have moved on since it was read.
  if (read.kind === "found" && isAheadOf(message.value.message, read.group)) {
    read = await ctx.dmGroups(groupUrl, { refresh: true });
  }
  if (read.kind === "unavailable") return refuse("dmGroupLookupFailed", read.detail);
  const checked = checkDmMessage(message.value, read.kind === "found" ? read.group : undefined, {
    domain: ctx.urls.domain,
    localActorOf: (acct) => {
      const parsed = parseAcct(acct);
      if (!parsed.ok || parsed.acct.host !== ctx.urls.domain.toLowerCase()) return undefined;
      return ctx.urls.actor(parsed.acct.user);
    },
    epochWindow: ctx.settings.dmEpochWindow,
  });
  return checked.ok ? proceed(undefined) : refuse(checked.reason, checked.detail);
}
