import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { newActivityId } from "./activities.js";
import type { ChannelSummary, ClientEvent } from "./client-types.js";
import type { LeaveStatus } from "./conversation/departures.js";
import { errorText } from "./errors.js";

/**
 * Deleting an account: the password is checked first (a wrong one leaves nothing), its channels are
 * left, each as `mimi channel leave` does (best effort:
 * a channel that refuses, such as one the user owns while others remain, or that does not answer in
 * time, is reported and does not stop the deletion), then the `Delete` of the user's actor is posted
 * to each of those channels, so their servers drop the user even where leaving failed (the home server
 * signs it with its instance actor, which peers accept once the actor answers 410), and last the home
 * server deletes the account.
 */

/** How leaving one channel went before the account was deleted. */
export interface ChannelDeparture {
  channel: ChannelSummary;
  outcome: LeaveStatus | { status: "failed"; reason: string };
}

export interface AccountDeletion {
  /** Every channel that was active, and how leaving it went. */
  departures: ChannelDeparture[];
  /** The channels the home server did not take the `Delete` of the actor for, and why. */
  unannounced: { channel: string; reason: string }[];
  /** When the name may be registered again. */
  quarantineUntil: string;
  events: ClientEvent[];
}

/** What deleting needs from the client: its channels, leaving one, and the server's deletion. */
export interface DeletionSteps {
  /** Throws when the password is wrong. */
  checkPassword(): Promise<void>;
  channels(): Promise<ChannelSummary[]>;
  leave(url: string): Promise<{ channel: ChannelSummary; outcome: LeaveStatus; events: ClientEvent[] }>;
  /** Posts the `Delete` of the user's actor addressed to `channel` through the outbox. */
  announceDeletion?(channel: string): Promise<unknown>;
  deleteOnServer(): Promise<{ quarantineUntil: string }>;
}

/**
 * `Delete{object: actor}` addressed to one channel: one per channel, since a provider's shared inbox
 * takes a submission for one of its channels at a time. No `target`: it is about the account, not a
 * channel's content.
 */
export function actorDeleteActivity(actor: string, channel: string): Record<string, unknown> {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: newActivityId(actor),
    type: "Delete",
    actor,
    object: actor,
    to: [channel],
  };
}

export async function deleteAccountWith(steps: DeletionSteps): Promise<AccountDeletion> {
  const departures: ChannelDeparture[] = [];
  const unannounced: AccountDeletion["unannounced"] = [];
  const events: ClientEvent[] = [];
  await steps.checkPassword();
  const active = (await steps.channels()).filter((channel) => channel.status === "active");
  for (const channel of active) {
    try {
      const left = await steps.leave(channel.url);
      events.push(...left.events);
      departures.push({ channel: left.channel, outcome: left.outcome });
    } catch (error) {
      departures.push({ channel, outcome: { status: "failed", reason: errorText(error) } });
    }
  }
  for (const channel of active) {
    try {
      await steps.announceDeletion?.(channel.url);
    } catch (error) {
      unannounced.push({ channel: channel.url, reason: errorText(error) });
    }
  }
  const { quarantineUntil } = await steps.deleteOnServer();
  return { departures, unannounced, quarantineUntil, events };
}
