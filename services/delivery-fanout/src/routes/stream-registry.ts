/** One open mailbox stream, as the registry knows it. */
export interface OpenStream {
  readonly username: string;
  /** Bytes written to the stream that its client has not taken yet. */
  bufferedBytes(): number;
}

/**
 * The mailbox streams open in this process, per user. A user may hold at most `maxPerUser` at once;
 * one more is refused (429) rather than closing an older one: a device that keeps reconnecting cannot
 * push another device's stream out in a loop, and streams whose client went away are closed by the
 * stall and idle timeouts, so they do not hold a place for long.
 */
export class MailboxStreamRegistry {
  private readonly byUser = new Map<string, Set<OpenStream>>();

  constructor(private readonly maxPerUser: number) {}

  /** Registers the stream, or answers false when its user already holds `maxPerUser` streams. */
  tryOpen(stream: OpenStream): boolean {
    let streams = this.byUser.get(stream.username);
    if (streams === undefined) {
      streams = new Set();
      this.byUser.set(stream.username, streams);
    }
    if (streams.size >= this.maxPerUser) return false;
    streams.add(stream);
    return true;
  }

  release(stream: OpenStream): void {
    const streams = this.byUser.get(stream.username);
    if (streams === undefined) return;
    streams.delete(stream);
    if (streams.size === 0) this.byUser.delete(stream.username);
  }

  countFor(username: string): number {
    return this.byUser.get(username)?.size ?? 0;
  }

  /** Every open stream (for the buffered-bytes gauge and tests). */
  all(): OpenStream[] {
    return [...this.byUser.values()].flatMap((streams) => [...streams]);
  }
}

const registries = new WeakMap<object, MailboxStreamRegistry>();

/** The one registry of a service context: every route of one router shares it. */
export function streamRegistryOf(owner: object, maxPerUser: number): MailboxStreamRegistry {
  let registry = registries.get(owner);
  if (registry === undefined) {
    registry = new MailboxStreamRegistry(maxPerUser);
    registries.set(owner, registry);
  }
  return registry;
}
