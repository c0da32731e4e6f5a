import type { ChannelSequencerContext } from "../context.js";
import { canonicalAcct, dmActorFields } from "../domain/dm.js";
import type { ChannelSummary } from "../domain/documents.js";
import { dmParticipantsOf } from "./decide-dm.js";

/**
 * What `GET G` adds for a DM group (protocol.md section 14.2), or nothing for a channel. Each
 * participant's actor is the one their leaves were admitted under; a participant not added yet is
 * resolved like an Add's object (WebFinger, cached). A participant that cannot be resolved now makes
 * the read fail, so readers keep the document they had rather than get one that lacks them.
 */
export async function dmDocumentFields(
  ctx: ChannelSequencerContext,
  channel: ChannelSummary,
): Promise<Record<string, unknown>> {
  const participants = await dmParticipantsOf(ctx, channel);
  if (participants === undefined) return {};
  const state = await ctx.store.channelState(channel.id);
  const actorOf = new Map<string, string>();
  for (const member of state?.members ?? []) {
    const acct = canonicalAcct(member.acct);
    if (acct !== undefined) actorOf.set(acct, member.actorUrl);
  }
  for (const acct of participants) {
    if (actorOf.has(acct)) continue;
    const actor = await ctx.resolveAcct(acct);
    if (actor === undefined) throw new Error(`the participant ${acct} does not resolve to an actor`);
    actorOf.set(acct, actor);
  }
  return dmActorFields(participants, actorOf);
}
