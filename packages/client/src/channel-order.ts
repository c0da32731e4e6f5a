/**
 * Applying a channel's activities in the order its server sequenced them. The channel numbers every
 * accepted activity (`mimi:sequence` on each forward, `sequence` in its log); deliveries may still
 * arrive out of order or not at all (a retry, a restart), and MLS keeps keys for only a few skipped
 * generations. So a client applies entry n+1 only after n: later entries wait here, and a gap that
 * the mailbox does not fill is fetched from the channel's log. Pure: no I/O.
 */
export type Activity = Record<string, unknown>;

/**
 * A log entry known before its turn: a forward from the mailbox (`activity`), or one of our own
 * submissions the channel accepted (no activity: nothing to apply, only the number to pass).
 */
export interface AheadEntry {
  sequence: number;
  activity?: Activity;
}

/** Entries kept waiting per channel; beyond this the furthest ones are left to the log. */
export const MAX_AHEAD_ENTRIES = 500;

export type Placement = "applied" | "next" | "ahead";

/** Where entry `sequence` stands when `applied` is the last entry applied. */
export function placeOf(sequence: number, applied: number): Placement {
  if (sequence <= applied) return "applied";
  return sequence === applied + 1 ? "next" : "ahead";
}

/**
 * `ahead` with `entry` added: sorted by sequence, one entry per sequence (one carrying the activity
 * wins over our own placeholder: an activity of ours may still have an effect in its turn, a rename),
 * without entries already applied, and at most `MAX_AHEAD_ENTRIES` (the nearest ones are kept: the
 * furthest are fetched from the log in turn).
 */
export function withAhead(ahead: readonly AheadEntry[], entry: AheadEntry, applied: number): AheadEntry[] {
  const known = ahead.find((candidate) => candidate.sequence === entry.sequence);
  const others = ahead.filter((candidate) => candidate.sequence !== entry.sequence);
  const kept = entry.activity === undefined && known !== undefined ? known : entry;
  return [...others, kept]
    .filter((candidate) => candidate.sequence > applied)
    .sort((a, b) => a.sequence - b.sequence)
    .slice(0, MAX_AHEAD_ENTRIES);
}

/** The waiting entry that is next after `applied`, if it is here. */
export function nextEntry(ahead: readonly AheadEntry[], applied: number): AheadEntry | undefined {
  return ahead.find((entry) => entry.sequence === applied + 1);
}

/** `ahead` without the entries at or before `applied`. */
export function pruned(ahead: readonly AheadEntry[], applied: number): AheadEntry[] {
  return ahead.filter((entry) => entry.sequence > applied);
}

/** True when entries are waiting for one that has not arrived: the log must fill the gap. */
export function hasGap(ahead: readonly AheadEntry[] | undefined, applied: number): boolean {
  return (ahead ?? []).some((entry) => entry.sequence > applied);
}
