import { EventEmitter } from "node:events";
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

/** Standalone: every writer and every stream live in this process. */
export function createInProcessNotifier(): MailboxNotifier {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async notify(username, cursor) {
      emitter.emit(username, cursor);
    },
    subscribe(username, listener) {
      emitter.on(username, listener);
      return () => emitter.off(username, listener);
    },
    listenerCount: (username) => emitter.listenerCount(username),
    async close() {
      emitter.removeAllListeners();
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

/**
 * Split deployment: PostgreSQL LISTEN/NOTIFY on a dedicated connection (a pooled one cannot hold a
 * LISTEN). The writer's NOTIFY reaches every replica, including itself, which then wakes its local
 * streams. The connection is re-opened with backoff when it drops.
 */
export async function createPgNotifier(options: {
  connectionString: string;
  onError?: (error: unknown) => void;
  reconnectDelayMs?: number;
}): Promise<MailboxNotifier> {
  const local = createInProcessNotifier();
  const reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  let client: pg.Client | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<pg.Client> => {
    const next = new pg.Client({
      connectionString: options.connectionString,
      application_name: "mimi-mailbox-notifier",
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
    await next.connect();
    await next.query(`listen ${MAILBOX_CHANNEL}`);
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
        if (closed) await next.end();
        else client = next;
      } catch (error) {
        options.onError?.(error);
        reconnectSoon();
      }
    }, reconnectDelayMs);
  };

  client = await connect();
  return {
    async notify(username, cursor) {
      const payload: NotificationPayload = { u: username, c: cursor };
      if (!client) throw new Error("mailbox notifier is reconnecting");
      await client.query("select pg_notify($1, $2)", [MAILBOX_CHANNEL, JSON.stringify(payload)]);
    },
    subscribe: (username, listener) => local.subscribe(username, listener),
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
