import { canonicalAcct, compareCodeUnits, conversationKey, formatAcct, parseAcct } from "@mimi/activitypub";

export { canonicalAcct, compareCodeUnits, conversationKey };

/**
 * A group DM is identified by its participant set P (docs/protocol.md section 14.1): the distinct
 * participants' acct URIs, lowercased and sorted. Pure helpers every device applies the same way.
 */

/**
 * P for the accts a person typed (`acct:u@h`, `u@h` or `@u@h`) plus `self`: lowercased, distinct,
 * sorted by code unit. Throws on a string that is not an acct.
 */
export function participantSet(self: string, others: readonly string[]): string[] {
  const set = new Set<string>();
  for (const entry of [self, ...others]) {
    const parsed = parseAcct(entry.trim(), { lenient: true });
    if (!parsed.ok)
      throw new Error(`${JSON.stringify(entry)} is not an account (user@domain): ${parsed.reason}`);
    set.add(formatAcct(parsed.acct).toLowerCase());
  }
  const list = [...set].sort(compareCodeUnits);
  if (list.length < 2) throw new Error("a conversation needs at least one other participant");
  return list;
}

/** Splits a CLI conversation argument such as `@bob@b.test,carol@c.test` into accts. */
export function splitParticipants(argument: string): string[] {
  return argument
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/**
 * Whether a typed reference names a conversation rather than a channel: it starts with `@` or `acct:`
 * and every comma-separated part is an account (`@bob@b.test,carol@c.test`). A channel may be called
 * `@team`; one called like an account is read by its URL or id.
 */
export function isConversationReference(reference: string): boolean {
  if (!reference.startsWith("@") && !reference.startsWith("acct:")) return false;
  const entries = splitParticipants(reference);
  return entries.length > 0 && entries.every((entry) => parseAcct(entry, { lenient: true }).ok);
}

/**
 * Of the DM groups a device holds for one conversation, the one it sends in: the lowest actor URL
 * (code-unit order). Two participants who start the same set at once end up with two groups; every
 * device picks the same one without talking to anyone (section 14.6).
 */
export function sendingGroup(groups: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const group of groups) if (best === undefined || compareCodeUnits(group, best) < 0) best = group;
  return best;
}

/** Whether a group newly learned of (by its Welcome) should become the one this device sends in. */
export function replacesSendingGroup(current: string | undefined, learned: string): boolean {
  return current === undefined || compareCodeUnits(learned, current) < 0;
}

/** How a conversation is shown: the other participants' handles, or one's own for a note to self. */
export function conversationLabel(participants: readonly string[], self: string): string {
  const own = formatAcct(parseOrThrow(self)).toLowerCase();
  const others = participants.filter((acct) => acct !== own);
  return others.map((acct) => `@${acct.replace(/^acct:/, "")}`).join(",");
}

function parseOrThrow(acct: string) {
  const parsed = parseAcct(acct, { lenient: true });
  if (!parsed.ok) throw new Error(`${JSON.stringify(acct)} is not an account: ${parsed.reason}`);
  return parsed.acct;
}
