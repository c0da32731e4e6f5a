import type { AccountStore } from "../account-store.js";
import type { MailboxItem, ProviderApi } from "../api.js";
import type { ClientEvent, ListenOptions } from "../client-types.js";
import { errorText, MimiClientError } from "../errors.js";
import { SseParser } from "../sse.js";

/**
 * Follows the mailbox live (`GET /api/v1/mailbox/stream`, Server-Sent Events) from the stored
 * cursor, hands each item to `handleItem` (which handles it as `sync` does, under the account's lock)
 * and passes the events to `onEvent`. Reconnects after an interruption, and when nothing (not even
 * the server's heartbeat) arrived for `idleTimeoutMs`: a connection can die without closing. Ends
 * when `signal` aborts.
 */
export async function followMailbox(
  account: { api: ProviderApi; store: AccountStore },
  handleItem: (item: MailboxItem) => Promise<ClientEvent[]>,
  onEvent: (event: ClientEvent) => void,
  options: ListenOptions = {},
): Promise<void> {
  const signal = options.signal;
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  while (!signal?.aborted) {
    const connection = new AbortController();
    const stopConnection = () => connection.abort();
    signal?.addEventListener("abort", stopConnection, { once: true });
    let idle: NodeJS.Timeout | undefined;
    let timedOut = false;
    const resetIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        timedOut = true;
        connection.abort();
      }, idleTimeoutMs);
    };
    try {
      const cursor = await account.store.loadCursor();
      resetIdle();
      const response = await account.api.open("/api/v1/mailbox/stream", {
        headers: { accept: "text/event-stream", "last-event-id": String(cursor) },
        signal: connection.signal,
      });
      if (!response.ok || !response.body)
        throw new MimiClientError(`the mailbox stream answered ${response.status}`);
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        resetIdle();
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (event.event !== "activity") continue;
          const item = JSON.parse(event.data) as MailboxItem;
          for (const clientEvent of await handleItem(item)) onEvent(clientEvent);
        }
        if (signal?.aborted) break;
      }
      if (!signal?.aborted)
        options.onWarning?.(timedOut ? silentFor(idleTimeoutMs) : "mailbox stream ended; reconnecting");
    } catch (error) {
      if (signal?.aborted) break;
      options.onWarning?.(
        timedOut ? silentFor(idleTimeoutMs) : `mailbox stream interrupted: ${errorText(error)}`,
      );
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener("abort", stopConnection);
      connection.abort();
    }
    if (signal?.aborted) break;
    await sleep(options.reconnectMs ?? 2_000, signal);
  }
}

function silentFor(idleTimeoutMs: number): string {
  return `mailbox stream silent for ${(idleTimeoutMs / 1000).toFixed(1)} s; reconnecting`;
}

/** Waits `ms`, or until `signal` aborts; leaves no listener behind on the signal either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
