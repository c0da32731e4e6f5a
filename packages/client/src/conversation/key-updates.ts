import type { ChannelRecord } from "../account-store.js";
import { hasGap } from "../channel-order.js";
import type { ClientEvent, KeyUpdatePolicy } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { errorText } from "../errors.js";
import { proposeKeyUpdate } from "./commits.js";
import { deviceCredential, renewalUpdateDue } from "./credential-update.js";
import { ConversationSession } from "./session.js";

/**
 * Key updates of this device's own leaf: a commit with no proposals and a fresh UpdatePath, so that
 * keys an attacker may have taken stop opening anything (post-compromise security). `rotateKeys`
 * commits one on demand; `sync` and `listen` commit one by themselves when the policy says it is
 * due, and after a credential renewal (conversation/credential-update.ts). Each carries the device's
 * current credential.
 */

/** A week, or a thousand messages: often enough to bound what stolen keys open, rare enough to cost nothing. */
export const DEFAULT_KEY_UPDATE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_KEY_UPDATE_MAX_MESSAGES = 1000;

export interface KeyUpdateLimits {
  maxAgeMs: number;
  maxMessages: number;
}

/** The policy's limits, or undefined when automatic key updates are off. */
export function keyUpdateLimits(policy: KeyUpdatePolicy | undefined): KeyUpdateLimits | undefined {
  if (policy === false) return undefined;
  return {
    maxAgeMs: policy?.maxAgeMs ?? DEFAULT_KEY_UPDATE_MAX_AGE_MS,
    maxMessages: policy?.maxMessages ?? DEFAULT_KEY_UPDATE_MAX_MESSAGES,
  };
}

/**
 * Whether a key update of our leaf in this channel is due at `now`: the channel is active with no
 * change of ours waiting, nothing keeping it behind and no entry waiting for a gap, and the last key update (or its refusal, or
 * the record's making) is `maxAgeMs` old or `maxMessages` messages ago. Pure.
 */
export function keyUpdateDue(record: ChannelRecord, limits: KeyUpdateLimits, now: Date): boolean {
  if (!keyUpdatePossible(record)) return false;
  const last = record.keyUpdate ?? { at: record.createdAt, messages: 0 };
  const age = now.getTime() - Date.parse(last.at);
  return age >= limits.maxAgeMs || last.messages >= limits.maxMessages;
}

/**
 * Whether we may commit a key update in this channel now: it is active with no change of ours waiting,
 * nothing keeping it behind and no entry waiting for a gap. Pure.
 */
export function keyUpdatePossible(record: ChannelRecord): boolean {
  if (record.status !== "active" || !record.state) return false;
  if (record.pending || record.createActivityId || record.outOfSync) return false;
  // Entries wait for a gap: our commit would be for an epoch already passed.
  return !hasGap(record.ahead, record.logSequence);
}

/**
 * Commits and submits a key update in every channel where one is due, by the policy's age or message
 * count or because our leaf there still carries a credential the device has since renewed (that one
 * would expire); failures become warnings, and a renewal's update is tried again on the next sync until
 * the channel accepts one. With the policy off the client commits none by itself: `rotateKeys` then
 * carries the renewed credential.
 */
export async function updateKeysWhereDue(
  ctx: AccountContext,
  limits: KeyUpdateLimits | undefined,
  events: ClientEvent[],
  warnings: string[],
): Promise<void> {
  if (!limits) return;
  const device = await ctx.store.loadDevice();
  const credential = device ? deviceCredential(device) : undefined;
  for (const session of await ConversationSession.all(ctx)) {
    if (!keyUpdatePossible(session.record)) continue;
    // A state that does not decode cannot be updated: the next entry applied rejoins the channel.
    const state = session.usableState();
    if (state === undefined) continue;
    const renewing =
      credential !== undefined && renewalUpdateDue(session.record, state, credential, ctx.now());
    if (!renewing && !keyUpdateDue(session.record, limits, ctx.now())) continue;
    try {
      const submitted = await session.submitPending(await proposeKeyUpdate(session));
      events.push({
        type: "key-update-submitted",
        channel: submitted.channel,
        activityId: submitted.activityId,
        epoch: submitted.epoch,
      });
    } catch (error) {
      warnings.push(`${session.record.name}: the key update could not be submitted: ${errorText(error)}`);
    }
  }
}
