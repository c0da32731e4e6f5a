import type { ChannelSummary, ClientEvent } from "./client-types.js";
import type { LeaveStatus } from "./conversation/departures.js";
import { errorText } from "./errors.js";

/**
 * Deleting an account: the password is checked first (a wrong one leaves nothing), its channels are
 * left, each as `mimi channel leave` does (best effort:
 * a channel that refuses, such as one the user owns while others remain, or that does not answer in
 * time, is reported and does not stop the deletion), then the home server deletes the account.
 */

/** How leaving one channel went before the account was deleted. */
export interface ChannelDeparture {
  channel: ChannelSummary;
  outcome: LeaveStatus | { status: "failed"; reason: string };
}

export interface AccountDeletion {
  /** Every channel that was active, and how leaving it went. */
  departures: ChannelDeparture[];
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
  deleteOnServer(): Promise<{ quarantineUntil: string }>;
}

export async function deleteAccountWith(steps: DeletionSteps): Promise<AccountDeletion> {
  const departures: ChannelDeparture[] = [];
  const events: ClientEvent[] = [];
  await steps.checkPassword();
  for (const channel of await steps.channels()) {
    if (channel.status !== "active") continue;
    try {
      const left = await steps.leave(channel.url);
      events.push(...left.events);
      departures.push({ channel: left.channel, outcome: left.outcome });
    } catch (error) {
      departures.push({ channel, outcome: { status: "failed", reason: errorText(error) } });
    }
  }
  const { quarantineUntil } = await steps.deleteOnServer();
  return { departures, quarantineUntil, events };
}
