import type { AccountStore } from "../account-store.js";
import { type MailboxItem, MimiApiError, type ProviderApi } from "../api.js";
import type { ClientEvent, ListenOptions } from "../client-types.js";
import { errorText, MimiClientError } from "../errors.js";
import { SseParser } from "../sse.js";

/** The longest a refused stream waits before it is opened again, whatever `Retry-After` says. */
export const MAX_STREAM_RETRY_AFTER_MS = 60_000;
/** The wait after a refusal that carries no usable `Retry-After` (the server sends 30 s). */
const DEFAULT_STREAM_RETRY_AFTER_MS = 30_000;

/** What one connection came to, and how long to wait before the next one. */
interface Outcome {
  waitMs: number;
  warning?: string;
  /** The server refused the stream for too many open ones (429 `tooManyStreams`). */
  refused?: boolean;
}

/**
 * Follows the mailbox live (`GET /api/v1/mailbox/stream`, Server-Sent Events) from the stored
 * cursor, hands each item to `handleItem` (which handles it as `sync` does, under the account's lock)
 * and passes the events to `onEvent`. Reconnects after an interruption, and when nothing (not even
 * the server's heartbeat) arrived for `idleTimeoutMs`: a connection can die without closing. Ends
 * when `signal` aborts, and throws the home server's 401 (the session ended: no reconnect helps).
 *
 * The server may end a stream itself with a last event `closed` (`{"reason": "behind" | "idle" |
 * "unavailable"}`): that is no failure, so the stream is reopened from the cursor without a warning,
 * at once after `idle` and after `reconnectMs` otherwise. A 429 (too many open streams for the
 * account) is retried after its `Retry-After` (at most `maxRetryAfterMs`), with one warning for a run
 * of refusals rather than one per attempt.
 */
export async function followMailbox(
  account: { api: ProviderApi; store: AccountStore },
  handleItem: (item: MailboxItem) => Promise<ClientEvent[]>,
  onEvent: (event: ClientEvent) => void,
  options: ListenOptions = {},
): Promise<void> {
  const signal = options.signal;
  let refusedBefore = false;
  while (!signal?.aborted) {
    const outcome = await connectOnce(account, handleItem, onEvent, options);
    if (signal?.aborted) break;
    if (outcome.warning && !(outcome.refused && refusedBefore)) options.onWarning?.(outcome.warning);
    refusedBefore = outcome.refused === true;
    await sleep(outcome.waitMs, signal);
  }
}

/** One connection to the stream, from the stored cursor until it ends. */
async function connectOnce(
  account: { api: ProviderApi; store: AccountStore },
  handleItem: (item: MailboxItem) => Promise<ClientEvent[]>,
  onEvent: (event: ClientEvent) => void,
  options: ListenOptions,
): Promise<Outcome> {
  const signal = options.signal;
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const reconnectMs = options.reconnectMs ?? 2_000;
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
    if (response.status === 429) {
      await response.body?.cancel();
      // Never sooner than a plain reconnect (a `Retry-After: 0` must not make a tight loop).
      const waitMs = Math.max(
        reconnectMs,
        Math.min(
          retryAfterMs(response.headers.get("retry-after")) ?? DEFAULT_STREAM_RETRY_AFTER_MS,
          options.maxRetryAfterMs ?? MAX_STREAM_RETRY_AFTER_MS,
        ),
      );
      return {
        waitMs,
        refused: true,
        warning: `too many open streams for this account; retrying in ${Math.ceil(waitMs / 1000)} s`,
      };
    }
    if (response.status === 401) throw await problemOf(response);
    if (!response.ok || !response.body)
      throw new MimiClientError(`the mailbox stream answered ${response.status}`);
    let closedFor: string | undefined;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    reading: for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      resetIdle();
      for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (event.event === "closed") {
          closedFor = closeReason(event.data);
          break reading;
        }
        if (event.event !== "activity") continue;
        const item = JSON.parse(event.data) as MailboxItem;
        for (const clientEvent of await handleItem(item)) onEvent(clientEvent);
      }
      if (signal?.aborted) break;
    }
    // The server ended the stream on purpose: reopen quietly (at once when it was only idle).
    if (closedFor !== undefined) return { waitMs: closedFor === "idle" ? 0 : reconnectMs };
    return {
      waitMs: reconnectMs,
      warning: timedOut ? silentFor(idleTimeoutMs) : "mailbox stream ended; reconnecting",
    };
  } catch (error) {
    if (error instanceof MimiApiError && error.status === 401) throw error;
    return {
      waitMs: reconnectMs,
      warning: timedOut ? silentFor(idleTimeoutMs) : `mailbox stream interrupted: ${errorText(error)}`,
    };
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener("abort", stopConnection);
    connection.abort();
  }
}

/** The reason of the server's last event (`{"reason": ...}`); unreadable data counts as no reason. */
export function closeReason(data: string): string {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === "object" && "reason" in parsed && typeof parsed.reason === "string")
      return parsed.reason;
  } catch {
    // not JSON: still the server's end of the stream
  }
  return "";
}

/** `Retry-After` in milliseconds: seconds (the server's form) or an HTTP date; undefined if neither. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The home server's refusal of the stream as the API's error (title and detail of its problem). */
async function problemOf(response: Response): Promise<MimiApiError> {
  const text = await response.text().catch(() => "");
  let problem: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") problem = parsed as Record<string, unknown>;
  } catch {
    // not a problem document: the status says enough
  }
  return new MimiApiError(
    response.status,
    typeof problem.title === "string" ? problem.title : response.statusText,
    typeof problem.detail === "string" ? problem.detail : "",
    problem,
  );
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
