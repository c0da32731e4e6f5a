import pg from "pg";

/**
 * "User X has a new mailbox row" across processes, so live streams wake without polling. Streams
 * still poll now and then as a safety net (a notification can be lost while a connection is down).
 */
export interface MailboxNotifier {
  notify(username: string, cursor: number): Promise<void>;
  /** Calls `listener` with the new cursor; returns the unsubscribe function. */
  subscribe(username: string, listener: (cursor: number) => void): () => void;
  /** Live subscriptions for a user in this process (open streams). */
  listenerCount(username: string): number;
  close(): Promise<void>;
}

/**
 * Standalone: every writer and every stream live in this process. Listeners are kept per username in a
 * map, not as `EventEmitter` events: a user may be called `error`, and emitting `error` without a
 * listener throws. A listener that throws does not keep the others from being called.
 */
export function createInProcessNotifier(): MailboxNotifier {
  const listeners = new Map<string, Set<(cursor: number) => void>>();
  return {
    async notify(username, cursor) {
      for (const listener of [...(listeners.get(username) ?? [])]) {
        try {
          listener(cursor);
        } catch {
          // A stream's own failure; it ends itself.
        }
      }
    },
    subscribe(username, listener) {
      let forUser = listeners.get(username);
      if (!forUser) {
        forUser = new Set();
        listeners.set(username, forUser);
      }
      // Wrapped, so subscribing the same function twice gives two subscriptions.
      const entry = (cursor: number) => listener(cursor);
      forUser.add(entry);
      return () => {
        const current = listeners.get(username);
        if (!current) return;
        current.delete(entry);
        if (current.size === 0) listeners.delete(username);
      };
    },
    listenerCount: (username) => listeners.get(username)?.size ?? 0,
    async close() {
      listeners.clear();
    },
  };
}

export const MAILBOX_CHANNEL = "mimi_mailbox";

interface NotificationPayload {
  u: string;
  c: number;
}

function parsePayload(payload: string | undefined): NotificationPayload | undefined {
  if (!payload) return undefined;
  try {
    const value = JSON.parse(payload) as Partial<NotificationPayload>;
    return typeof value.u === "string" && typeof value.c === "number"
      ? { u: value.u, c: value.c }
      : undefined;
  } catch {
    return undefined;
  }
}

/** A notification waiting to be sent, and who waits for it. */
interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** A cursor that makes every stream re-read its mailbox (used when notifications may have been lost). */
const REREAD = Number.MAX_SAFE_INTEGER;

/**
 * Split deployment: PostgreSQL LISTEN/NOTIFY on a dedicated connection (a pooled one cannot hold a
 * LISTEN). The writer's NOTIFY reaches every replica, including itself, which then wakes its local
 * streams.
 *
 * A pg connection runs one query at a time, so notifications are queued, not sent concurrently: the
 * newest cursor per user waits in a map (one entry per user, however many writes) and each round
 * sends all of them in one statement. The connection has an `error` listener and is re-opened with a
 * delay when it fails or ends; a failure never reaches the process as an unhandled `error` event.
 * Notifications sent while it was down are lost, so after a reconnect every local stream re-reads.
 */
export async function createPgNotifier(options: {
  connectionString: string;
  onError?: (error: unknown) => void;
  reconnectDelayMs?: number;
  /** `application_name` of the connection (default `mimi-mailbox-notifier`). */
  applicationName?: string;
}): Promise<MailboxNotifier> {
  const local = createInProcessNotifier();
  const subscribed = new Map<string, number>();
  const reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  let client: pg.Client | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const queued = new Map<string, number>();
  let waiters: Waiter[] = [];
  let flushing = false;

  const connect = async (): Promise<pg.Client> => {
    const next = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName ?? "mimi-mailbox-notifier",
    });
    next.on("notification", (message) => {
      if (message.channel !== MAILBOX_CHANNEL) return;
      const payload = parsePayload(message.payload);
      if (payload) void local.notify(payload.u, payload.c);
    });
    next.on("error", (error) => {
      options.onError?.(error);
      if (client === next) reconnectSoon();
    });
    next.on("end", () => {
      if (client === next) reconnectSoon();
    });
    try {
      await next.connect();
      await next.query(`listen ${MAILBOX_CHANNEL}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    return next;
  };

  const reconnectSoon = () => {
    if (closed || reconnectTimer) return;
    const broken = client;
    client = undefined;
    broken?.end().catch(() => undefined);
    reconnectTimer = setTimeout(async () => {
      reconnectTimer = undefined;
      try {
        const next = await connect();
        if (closed) {
          await next.end().catch(() => undefined);
          return;
        }
        client = next;
        for (const username of subscribed.keys()) void local.notify(username, REREAD);
      } catch (error) {
        options.onError?.(error);
        reconnectSoon();
      }
    }, reconnectDelayMs);
  };

  /** Sends what is queued, one statement at a time, until nothing is. */
  const flush = async () => {
    flushing = true;
    try {
      while (queued.size > 0) {
        const payloads = [...queued].map(([u, c]) => JSON.stringify({ u, c } satisfies NotificationPayload));
        queued.clear();
        const batch = waiters;
        waiters = [];
        try {
          const current = client;
          if (!current) throw new Error("mailbox notifier is reconnecting");
          await current.query("select pg_notify($1, payload) from unnest($2::text[]) as payload", [
            MAILBOX_CHANNEL,
            payloads,
          ]);
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      flushing = false;
    }
  };

  client = await connect();
  return {
    notify(username, cursor) {
      if (closed) return Promise.reject(new Error("mailbox notifier is closed"));
      queued.set(username, Math.max(cursor, queued.get(username) ?? 0));
      const sent = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      if (!flushing) void flush();
      return sent;
    },
    subscribe(username, listener) {
      subscribed.set(username, (subscribed.get(username) ?? 0) + 1);
      const unsubscribe = local.subscribe(username, listener);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        unsubscribe();
        const left = (subscribed.get(username) ?? 1) - 1;
        if (left > 0) subscribed.set(username, left);
        else subscribed.delete(username);
      };
    },
    listenerCount: (username) => local.listenerCount(username),
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const current = client;
      client = undefined;
      await local.close();
      await current?.end().catch(() => undefined);
    },
  };
}
