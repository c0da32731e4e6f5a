import type { ChannelRecord } from "../account-store.js";
import type { AccountContext } from "../context.js";
import { MimiClientError } from "../errors.js";
import { ConversationSession } from "./session.js";

/** Finding one of this account's conversations by what a user calls it, and what it must be ready for. */

/** A channel by URL, id or (unique) name. */
export async function resolveConversation(
  ctx: AccountContext,
  reference: string,
): Promise<ConversationSession> {
  if (/^https?:\/\//.test(reference)) {
    const session = await ConversationSession.byUrl(ctx, reference);
    if (!session) throw new MimiClientError(`no channel ${reference} in this account`);
    return session;
  }
  return new ConversationSession(ctx, pickByIdOrName(await ctx.store.listChannels(), reference));
}

/** A conversation we can send to: joined, accepted by its server, not left. */
export async function activeConversation(
  ctx: AccountContext,
  reference: string,
): Promise<ConversationSession> {
  const session = await resolveConversation(ctx, reference);
  checkActive(session.record);
  return session;
}

/** A conversation we can commit to: active, and no change of ours waits for the channel's answer. */
export async function changeableConversation(
  ctx: AccountContext,
  reference: string,
): Promise<ConversationSession> {
  const session = await activeConversation(ctx, reference);
  checkChangeable(session.record);
  return session;
}

/** The channel whose id is `reference`, or else the only one (not failed) named so. Pure. */
export function pickByIdOrName(records: readonly ChannelRecord[], reference: string): ChannelRecord {
  const byId = records.find((c) => c.id === reference);
  if (byId) return byId;
  const named = records.filter((c) => c.name === reference && c.status !== "failed");
  if (named.length === 1 && named[0]) return named[0];
  if (named.length > 1)
    throw new MimiClientError(`several channels are named ${reference}: use the channel's URL`);
  throw new MimiClientError(`no channel named ${reference} (see mimi channels)`);
}

export function checkActive(record: ChannelRecord): void {
  if (record.status === "left") throw new MimiClientError(`you are no longer a member of ${record.name}`);
  if (record.status === "failed")
    throw new MimiClientError(`channel ${record.name} was not created: ${record.note ?? "rejected"}`);
  if (record.createActivityId)
    throw new MimiClientError(`channel ${record.name} is not accepted by its server yet (try mimi join)`);
}

/** Only one change per channel waits at a time: a second commit on the same epoch would lose to the first. */
export function checkChangeable(record: ChannelRecord): void {
  if (record.pending)
    throw new MimiClientError(
      `a change to ${record.name} is still waiting for the channel's answer (try mimi join)`,
    );
}
