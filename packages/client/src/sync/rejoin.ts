import type { ChannelRecord } from "../account-store.js";
import type { ChannelLogPage } from "../api.js";
import type { ClientEvent } from "../client-types.js";
import type { AccountContext } from "../context.js";
import type { ConversationSession } from "../conversation/session.js";
import { addPendingJoin, joinStateOf, submitJoin } from "../device/channel-joins.js";
import type { DeviceKeys } from "../device/device-keys.js";
import { errorText } from "../errors.js";

/**
 * A channel this device cannot recover by replaying the channel's log: its MLS state of the channel
 * is lost or does not decode, or the log no longer holds the entries after the last one applied.
 * The device joins again by external commit, as a resync that removes its own old leaf
 * (`Add{mimi:Device}`, docs/protocol.md 6.4.11), and the channel stays marked out of sync, with why,
 * until the channel accepts; then `joined` is reported and the conversation starts again from there.
 * What was sent in between is not readable to the new leaf.
 */

/**
 * Why the stored state of an active channel cannot be used, if it cannot; `stateDecodes` is asked only
 * when there is a stored state.
 */
export function lostStateReason(record: ChannelRecord, stateDecodes: () => boolean): string | undefined {
  if (record.status !== "active") return undefined;
  if (!record.state) return "this device's MLS state of the channel is lost";
  if (!stateDecodes()) return "this device's MLS state of the channel does not decode";
  return undefined;
}

/**
 * Why the log cannot fill the gap after `logSequence`, if it cannot: its first page after that entry
 * starts later than the next one (the log no longer keeps them). Pure.
 */
export function logHoleReason(logSequence: number, page: ChannelLogPage): string | undefined {
  const first = page.items.find((item) => item.sequence > logSequence);
  if (first === undefined || first.sequence === logSequence + 1) return undefined;
  return `the channel's log no longer holds entries ${logSequence + 1} to ${first.sequence - 1}`;
}

/** Whether a rejoin of this channel waits for its answer: the old state must not be used meanwhile. */
export async function rejoining(ctx: AccountContext, channelUrl: string): Promise<boolean> {
  return (await joinStateOf(ctx, channelUrl)).pending !== undefined;
}

/**
 * Submits the rejoin of `session`'s channel for `why`, unless one waits already or the channel refused
 * this device before. The channel is marked out of sync with the reason either way.
 */
export async function rejoin(
  ctx: AccountContext,
  keys: DeviceKeys,
  session: ConversationSession,
  why: string,
  events: ClientEvent[],
): Promise<void> {
  const record = session.record;
  const known = await joinStateOf(ctx, record.url);
  if (known.pending) return;
  if (known.refused !== undefined) {
    session.markOutOfSync(`${why}; the channel refused to take this device back: ${known.refused}`);
    await session.save();
    return;
  }
  try {
    const pending = await submitJoin(ctx, keys, record.url, 1, {
      name: record.name,
      actors: record.actors,
      ...(record.dm ? { dm: record.dm } : {}),
    });
    await addPendingJoin(ctx, pending);
    session.markOutOfSync(`${why}: joining again`);
    events.push(session.skipped(pending.activityId, `${why}: joining the channel again by external commit`));
  } catch (error) {
    session.markOutOfSync(`${why}; joining again failed for now: ${errorText(error)}`);
  }
  await session.save();
}

/**
 * Rejoins every active channel whose stored state is missing. Cheap enough for every sync: a state
 * that is there but does not decode is found where it is used (`rejoinIfUnusable`).
 */
export async function rejoinWhereStateIsLost(
  ctx: AccountContext,
  keys: DeviceKeys,
  sessions: readonly ConversationSession[],
  events: ClientEvent[],
): Promise<void> {
  for (const session of sessions) {
    const why = lostStateReason(session.record, () => true);
    if (why !== undefined) await rejoin(ctx, keys, session, why, events);
  }
}

/**
 * After applying an entry failed: when the stored state is lost or does not decode, the channel is
 * rejoined and true returned; otherwise the failure is someone else's to report.
 */
export async function rejoinIfUnusable(
  ctx: AccountContext,
  keys: DeviceKeys,
  session: ConversationSession,
  events: ClientEvent[],
): Promise<boolean> {
  const why = lostStateReason(session.record, () => session.usableState() !== undefined);
  if (why === undefined) return false;
  await rejoin(ctx, keys, session, why, events);
  return true;
}
