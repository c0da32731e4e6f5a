import { randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { type ClientState, ownLeafIndex, roster } from "@mimi/mls";
import type { ChannelRecord } from "../account-store.js";
import { type Activity, actorIdOf, followersOf, idOf, stringField } from "../activities.js";
import { hasGap } from "../channel-order.js";
import type { ClientEvent } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { credentialNames } from "../credential-validation.js";
import { errorText } from "../errors.js";
import { proposeRemove } from "./commits.js";
import { leavesOf } from "./roster.js";
import { ConversationSession } from "./session.js";

/**
 * Leaving a channel (docs/channels.md, Leaving). MLS does not let a member commit their own removal,
 * so the leaver sends `Leave{object: C}`; the channel's server stops counting them as a follower at
 * once and forwards the Leave; a remaining member's client then commits the Remove of the leaver's
 * leaves by itself. The leaver's client marks the channel left and keeps the messages it had.
 */

/** How long the other members wait for the member with the lowest leaf to commit a departure. */
export const DEPARTURE_FALLBACK_MS = 60_000;

/** A member who left and whose leaves this device has not seen removed yet. */
export interface Departure {
  actor: string;
  /** The accounts whose leaves are the leaver's (their credentials name them). */
  accts: string[];
  noticedAt: string;
}

/** What a channel's record keeps about leaving, beside the fields of `ChannelRecord`. */
export interface DepartureFields {
  /** Our Leave, while the channel has not answered it. */
  leaving?: string;
  /** Why the channel refused our last Leave. */
  leaveRefused?: string;
  /** Members who left; their Remove is committed by one of us. */
  departures?: Departure[];
}

type RecordWithDepartures = ChannelRecord & DepartureFields;

const fieldsOf = (record: ChannelRecord): RecordWithDepartures => record;

/** `Leave{object: C}`, through the channel like every member activity. */
export function leaveActivity(actor: string, channel: string): Activity & { id: string } {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: `${actor}/activities/${randomUUID()}`,
    type: "Leave",
    actor,
    object: channel,
    target: channel,
    to: [followersOf(channel)],
  };
}

/** A departure entry of a channel's log: a Leave, or a Delete of a member's actor. */
export function isLeave(activity: Activity): boolean {
  return departingActor(activity) !== undefined;
}

/**
 * Who departs with this channel entry: the author of a Leave, or the actor a Delete removes (an
 * account deleted on its provider, announced by the actor or by its origin's instance actor, and
 * accepted by the channel as a departure). Undefined for any other entry.
 */
export function departingActor(activity: Activity): string | undefined {
  const type = stringField(activity, "type");
  if (type === "Leave") return actorIdOf(activity);
  if (type === "Delete") return idOf(activity.object);
  return undefined;
}

/** Where our Leave stands: answered by the channel (left, or refused with its reason) or waiting. */
export type LeaveStatus =
  | { readonly status: "left" }
  | { readonly status: "refused"; readonly reason: string }
  | { readonly status: "waiting" };

export function leaveStatus(record: ChannelRecord): LeaveStatus {
  const fields = fieldsOf(record);
  if (record.status === "left") return { status: "left" };
  if (fields.leaving !== undefined) return { status: "waiting" };
  if (fields.leaveRefused !== undefined) return { status: "refused", reason: fields.leaveRefused };
  return { status: "waiting" };
}

/** Our Leave was submitted: its answer, or its forward in the channel's order, settles it. */
export function markLeaving(session: ConversationSession, activityId: string): void {
  const fields = fieldsOf(session.record);
  fields.leaving = activityId;
  delete fields.leaveRefused;
}

/** Our Leave could not be submitted: nothing waits for it. */
export function forgetLeaving(session: ConversationSession): void {
  delete fieldsOf(session.record).leaving;
}

/**
 * We left (our Leave was accepted, or another device of ours left): the MLS state goes, nothing is
 * decrypted after this, and the stored messages stay.
 */
export function markSelfDeparted(session: ConversationSession, events: ClientEvent[]): void {
  const record = fieldsOf(session.record);
  if (record.status === "left") return;
  record.status = "left";
  record.note = "you left";
  delete record.state;
  delete record.pending;
  delete record.ahead;
  delete record.outOfSync;
  delete record.leaving;
  delete record.departures;
  events.push({ type: "left", channel: session.summary(), by: session.ctx.account.actor, voluntary: true });
}

/**
 * The channel's answer to one of our submissions, when it answers our Leave: true when handled here.
 * A refusal (the channel's owner cannot leave while others remain, say) keeps the channel as it was.
 */
export async function answerToLeave(
  ctx: AccountContext,
  channelUrl: string,
  answer: Activity,
  type: "Accept" | "Reject",
  events: ClientEvent[],
): Promise<boolean> {
  const objectId = idOf(answer.object);
  const session = await ConversationSession.byUrl(ctx, channelUrl);
  if (!session || objectId === undefined || fieldsOf(session.record).leaving !== objectId) return false;
  if (type === "Accept") markSelfDeparted(session, events);
  else {
    const fields = fieldsOf(session.record);
    delete fields.leaving;
    fields.leaveRefused = stringField(answer, "summary") ?? "no reason given";
    events.push({
      type: "rejected",
      channel: session.summary(),
      activityId: objectId,
      what: "leave",
      reason: fields.leaveRefused,
      retried: false,
    });
  }
  await session.save();
  return true;
}

/**
 * A forwarded departure (Leave, or Delete of an actor), in the channel's order: ours (from this or
 * another device of ours) means we left; anyone else's is a departure whose Remove one of us commits.
 */
export function applyLeaveEntry(
  session: ConversationSession,
  activity: Activity,
  events: ClientEvent[],
): void {
  const leaver = departingActor(activity);
  if (leaver === undefined) return;
  if (leaver === session.ctx.account.actor) {
    markSelfDeparted(session, events);
    return;
  }
  const record = fieldsOf(session.record);
  const accts = Object.entries(record.actors)
    .filter(([, actor]) => actor === leaver)
    .map(([acct]) => acct);
  const known = record.departures ?? [];
  if (!known.some((departure) => departure.actor === leaver)) {
    record.departures = [...known, { actor: leaver, accts, noticedAt: session.ctx.now().toISOString() }];
  }
  events.push({ type: "member-left", channel: session.summary(), actor: leaver });
}

/** The leaves of a departure still in the group. */
export function departedLeaves(state: ClientState, departure: Departure): number[] {
  return departure.accts.flatMap((acct) => leavesOf(state, acct));
}

/**
 * Whether this device commits the departure now: the remaining member with the lowest leaf does at
 * once, everyone else once `DEPARTURE_FALLBACK_MS` passed (that member may be away), so that the
 * members do not all race for the same epoch. Pure.
 */
export function departureTurn(state: ClientState, departure: Departure, now: Date): boolean {
  const departed = new Set(departure.accts);
  const remaining = roster(state)
    .filter((member) => !departed.has(credentialNames(member.credential)?.acct ?? ""))
    .map((member) => member.leafIndex);
  if (Math.min(...remaining) === ownLeafIndex(state)) return true;
  return now.getTime() - Date.parse(departure.noticedAt) >= DEPARTURE_FALLBACK_MS;
}

/** The channel can take a commit of ours now: active, nothing waiting, nothing keeping it behind. */
function readyForCommit(record: ChannelRecord): boolean {
  if (record.status !== "active" || !record.state) return false;
  if (record.pending || record.createActivityId || record.outOfSync) return false;
  return !hasGap(record.ahead, record.logSequence);
}

/**
 * In every channel where members left: forgets the departures whose leaves are gone (someone
 * committed the Remove), and commits the Remove of the first one still there when it is our turn.
 * One commit per channel per call: only one change of ours may wait at a time.
 */
export async function commitDepartures(ctx: AccountContext, warnings: string[]): Promise<void> {
  for (const session of await ConversationSession.all(ctx)) {
    const record = fieldsOf(session.record);
    if (!record.departures?.length || !readyForCommit(record)) continue;
    const state = session.state();
    const open = record.departures.filter((departure) => departedLeaves(state, departure).length > 0);
    if (open.length !== record.departures.length) {
      record.departures = open;
      await session.save();
    }
    const next = open.find((departure) => departureTurn(state, departure, ctx.now()));
    const acct = next?.accts[0];
    if (!next || acct === undefined) continue;
    try {
      const activity = await proposeRemove(session, {
        acct,
        actor: next.actor,
        leaves: departedLeaves(state, next),
      });
      // Its answer is reported like that of any Remove of ours (`accepted`, `rejected`).
      await session.submitPending(activity);
    } catch (error) {
      warnings.push(
        `${record.name}: the removal of ${next.actor}, who left, could not be submitted: ${errorText(error)}`,
      );
    }
  }
}
