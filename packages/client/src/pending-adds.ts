import { join } from "node:path";
import type { AccountStore } from "./account-store.js";
import { MimiApiError } from "./api.js";
import type { SubmittedChange } from "./client-types.js";
import { errorText, MimiClientError } from "./errors.js";
import { handleOfAcct } from "./names.js";
import { writeJsonAtomic } from "./state.js";

/**
 * Adds that wait for the added user's consent: their provider answered the claim with 403
 * `consentRequired` (they accept adds only from contacts, and were asked). Kept in the account's
 * folder (`pending-adds.json`) and tried again by every sync until the claim goes through, the
 * channel is gone or the add fails for another reason.
 */
export interface PendingAdd {
  /** The channel's id (as stored locally). */
  channel: string;
  /** `acct:user@domain`. */
  acct: string;
  since: string;
}

/** Adds waiting at most: further ones are refused with the consent error itself. */
export const MAX_PENDING_ADDS = 100;

const fileOf = (store: AccountStore) => join(store.dir, "pending-adds.json");

export async function loadPendingAdds(store: AccountStore): Promise<PendingAdd[]> {
  return (await store.readJson<{ adds: PendingAdd[] }>(fileOf(store)))?.adds ?? [];
}

async function savePendingAdds(store: AccountStore, adds: readonly PendingAdd[]): Promise<void> {
  await writeJsonAtomic(fileOf(store), { adds });
}

/** An add that now waits for the added user's consent; `mimi join` makes it once they accept. */
export class AddWaitsForConsent extends MimiClientError {}

/** Whether `error` is a claim refused because the user accepts adds only from contacts. */
export function isConsentRequired(error: unknown): error is MimiApiError {
  return error instanceof MimiApiError && error.status === 403 && error.body.reason === "consentRequired";
}

/** Keeps an add waiting for consent (once per channel and user); false when too many wait already. */
export async function recordPendingAdd(
  store: AccountStore,
  add: { channel: string; acct: string },
  now: Date,
): Promise<boolean> {
  const adds = await loadPendingAdds(store);
  if (adds.some((held) => held.channel === add.channel && held.acct === add.acct)) return true;
  if (adds.length >= MAX_PENDING_ADDS) return false;
  await savePendingAdds(store, [...adds, { ...add, since: now.toISOString() }]);
  return true;
}

/**
 * Tries every waiting add again with `add` (which claims, commits and submits). One still refused
 * for consent keeps waiting; one submitted, or failed for another reason, is dropped and reported in
 * `warnings`, so `mimi join` says what became of it.
 */
export async function retryPendingAdds(
  store: AccountStore,
  add: (channel: string, acct: string) => Promise<SubmittedChange>,
  warnings: string[],
): Promise<void> {
  const adds = await loadPendingAdds(store);
  if (adds.length === 0) return;
  const waiting: PendingAdd[] = [];
  for (const pending of adds) {
    const who = handleOfAcct(pending.acct);
    try {
      await add(pending.channel, pending.acct);
      warnings.push(`${who} accepted: their add was submitted (its answer comes with the next join)`);
    } catch (error) {
      if (error instanceof AddWaitsForConsent || isConsentRequired(error)) waiting.push(pending);
      else warnings.push(`the add of ${who}, which waited for their consent, failed: ${errorText(error)}`);
    }
  }
  await savePendingAdds(store, waiting);
}
