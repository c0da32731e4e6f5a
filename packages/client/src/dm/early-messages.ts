import { join } from "node:path";
import type { AccountStore } from "../account-store.js";
import type { MailboxItem } from "../api.js";
import { writeJsonAtomic } from "../state.js";

/**
 * A DM message travels straight from its sender's provider, and the Add that brings its group's
 * Welcome comes from the group's host: the message may arrive first. Such a message is kept in the
 * account's folder (`early-dms.json`) and taken again once this device holds its group, so nothing
 * is lost to the race. Kept at most MAX_EARLY_DM_MESSAGES (the oldest go first) and for at most
 * EARLY_DM_MESSAGE_TTL_MS, since anyone can send a message naming a group we will never join.
 */

export const MAX_EARLY_DM_MESSAGES = 100;
export const EARLY_DM_MESSAGE_TTL_MS = 24 * 60 * 60 * 1000;

export interface EarlyDmMessage {
  groupUrl: string;
  item: MailboxItem;
  keptAt: string;
}

/** Pure: `list` with `entry` added (once per activity), past entries and the oldest over the limit dropped. */
export function withEarly(
  list: readonly EarlyDmMessage[],
  entry: EarlyDmMessage,
  now: Date,
): EarlyDmMessage[] {
  const kept = current(list, now).filter((known) => known.item.activityId !== entry.item.activityId);
  return [...kept, entry].slice(-MAX_EARLY_DM_MESSAGES);
}

/** Pure: the entries not yet past EARLY_DM_MESSAGE_TTL_MS. */
export function current(list: readonly EarlyDmMessage[], now: Date): EarlyDmMessage[] {
  return list.filter((entry) => now.getTime() - Date.parse(entry.keptAt) < EARLY_DM_MESSAGE_TTL_MS);
}

const fileOf = (store: AccountStore) => join(store.dir, "early-dms.json");

async function load(store: AccountStore): Promise<EarlyDmMessage[]> {
  return (await store.readJson<{ messages: EarlyDmMessage[] }>(fileOf(store)))?.messages ?? [];
}

export async function keepEarly(store: AccountStore, groupUrl: string, item: MailboxItem, now: Date) {
  const list = await load(store);
  await writeJsonAtomic(fileOf(store), {
    messages: withEarly(list, { groupUrl, item, keptAt: now.toISOString() }, now),
  });
}

/**
 * The kept messages whose group this device now holds (`holds`), in the order they arrived; they
 * and the expired ones leave the file.
 */
export async function takeEarly(
  store: AccountStore,
  holds: (groupUrl: string) => Promise<boolean>,
  now: Date,
): Promise<EarlyDmMessage[]> {
  const list = await load(store);
  if (list.length === 0) return [];
  const ready: EarlyDmMessage[] = [];
  const waiting: EarlyDmMessage[] = [];
  for (const entry of current(list, now)) ((await holds(entry.groupUrl)) ? ready : waiting).push(entry);
  if (ready.length > 0 || waiting.length !== list.length)
    await writeJsonAtomic(fileOf(store), { messages: waiting });
  return ready;
}
