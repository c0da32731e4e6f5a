import { ADDRESSING_FIELDS, referenceIds } from "./addressing.js";

/** What one inbox or outbox request may cost this provider (`MIMI_INBOX_MAX_*`). */
export interface IngestLimits {
  /** Entries in `to`, `cc`, `bto`, `bcc` and `audience` together. */
  readonly maxAddresses: number;
  /** Local users one delivery reaches (each gets a copy in their mailbox). */
  readonly maxRecipients: number;
  /** The body's size times the local users it reaches: the mailbox bytes one request may write. */
  readonly maxCopyBytes: number;
}

/**
 * Every entry of every addressing field, duplicates included: the count a sender can inflate, and
 * what expansion, routing and the delivery's size grow with. `bto` and `bcc` count like the rest.
 */
export function addressCount(activity: Record<string, unknown>): number {
  return ADDRESSING_FIELDS.reduce((total, field) => total + referenceIds(activity[field]).length, 0);
}

/** Why the activity names too many addresses, or undefined when it is within the limit. */
export function addressingExcess(
  activity: Record<string, unknown>,
  limits: IngestLimits,
): string | undefined {
  const count = addressCount(activity);
  return count > limits.maxAddresses
    ? `the activity names ${count} addresses in to, cc, bto, bcc and audience; at most ${limits.maxAddresses} are accepted`
    : undefined;
}

/**
 * Why one delivery may not reach this many local users, or undefined when it may: a cap on the users
 * and on the mailbox bytes (body size times users), so one request can write only a bounded amount.
 */
export function recipientExcess(
  recipients: number,
  bodyBytes: number,
  limits: IngestLimits,
): string | undefined {
  if (recipients > limits.maxRecipients) {
    return `the delivery reaches ${recipients} users here; at most ${limits.maxRecipients} per request`;
  }
  if (recipients * bodyBytes > limits.maxCopyBytes) {
    return `the delivery would store ${recipients} copies of ${bodyBytes} bytes here; at most ${limits.maxCopyBytes} bytes per request`;
  }
  return undefined;
}
