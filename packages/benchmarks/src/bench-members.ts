import { AccountStore, type ProviderApi, SseParser, StateStore } from "@mimi/client";
import { acceptAnyCredential, type ClientState, decodeClientState } from "@mimi/mls";

/** A user of a scenario that drives the wire itself: where its client keeps state, and its API. */
export interface BenchMember {
  handle: string;
  home: string;
  api: ProviderApi;
  username: string;
  actor: string;
  acct: string;
}

function accountStoreOf(member: BenchMember): AccountStore {
  return new AccountStore(new StateStore(member.home).accountDir(member.handle));
}

/** The member's MLS state of the conversation at `url`, as its client stored it. */
export async function storedState(member: BenchMember, url: string): Promise<ClientState> {
  const record = (await accountStoreOf(member).listChannels()).find((channel) => channel.url === url);
  if (!record?.state) throw new Error(`${member.handle} has no state for ${url}`);
  const decoded = decodeClientState(Buffer.from(record.state, "base64"), acceptAnyCredential);
  if (!decoded.ok) throw new Error(decoded.detail);
  return decoded.state;
}

/** Where the member's client has read its mailbox up to. */
export function mailboxCursorOf(member: BenchMember): Promise<number> {
  return accountStoreOf(member).loadCursor();
}

/** Reads the member's live mailbox stream from `cursor`, handing each activity to `onActivity` in order. */
export async function listenToMailbox(
  member: BenchMember,
  cursor: number,
  signal: AbortSignal,
  onActivity: (activity: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  try {
    const response = await member.api.open("/api/v1/mailbox/stream", {
      headers: { accept: "text/event-stream", "last-event-id": String(cursor) },
      signal,
    });
    if (!response.ok || !response.body) throw new Error(`the mailbox stream answered ${response.status}`);
    const parser = new SseParser();
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (event.event !== "activity") continue;
        const item = JSON.parse(event.data) as { activity: Record<string, unknown> };
        await onActivity(item.activity);
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/** Polls `done` every 20 ms until it holds or `timeoutMs` passed (the caller checks what it needs). */
export async function waitUntilAsync(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

export function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  return waitUntilAsync(async () => done(), timeoutMs);
}
