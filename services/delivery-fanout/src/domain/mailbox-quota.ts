/**
 * What a local user's mailbox may hold. A full mailbox refuses new items rather than dropping old
 * ones: the oldest unread items are MLS commits and messages the user's devices still need in order,
 * and losing them silently would break every channel's state on those devices; a refused item leaves
 * a gap at the end that the sender is told about (and that a channel's log can fill later).
 */
export interface MailboxQuota {
  maxItems: number;
  maxBytes: number;
}

export interface MailboxUsage {
  items: number;
  bytes: number;
}

export type QuotaVerdict = { admitted: true } | { admitted: false; reason: string };

/**
 * Admits items in the order given, each against its user's usage plus the items admitted before it
 * (duplicates of stored rows are not known here: they count until the insert finds them, which errs
 * on refusing one item too early at the very edge of the quota, never on storing too much).
 */
export function admitToMailboxes(
  items: ReadonlyArray<{ username: string; bytes: number }>,
  usage: ReadonlyMap<string, MailboxUsage>,
  quota: MailboxQuota,
): QuotaVerdict[] {
  const running = new Map<string, MailboxUsage>();
  return items.map(({ username, bytes }) => {
    const current = running.get(username) ?? usage.get(username) ?? { items: 0, bytes: 0 };
    if (current.items + 1 > quota.maxItems) {
      return { admitted: false, reason: `mailbox full: ${quota.maxItems} items` };
    }
    if (current.bytes + bytes > quota.maxBytes) {
      return { admitted: false, reason: `mailbox full: ${quota.maxBytes} bytes` };
    }
    running.set(username, { items: current.items + 1, bytes: current.bytes + bytes });
    return { admitted: true };
  });
}
