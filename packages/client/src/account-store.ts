import { mkdir, open, readdir, readFile, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AheadEntry } from "./channel-order.js";
import type { MessageKind, PlaintextFormat } from "./content/interpret.js";
import { normalizeMessageId } from "./content/legacy-json.js";
import { writeJsonAtomic } from "./state.js";

/**
 * What one account keeps on this device, under `MIMI_HOME/accounts/<user@domain>/`: the device
 * (client id, signature key, credential, private parts of uploaded KeyPackages), the mailbox cursor,
 * one file per channel (MLS state, pending commit) and one per channel's messages. Every file has
 * mode 0600 and is written atomically, except the message logs, which only ever grow by whole lines. A lock file serializes processes that share the folder (for
 * example `mimi listen` in one terminal and `mimi send` in another).
 */
export interface StoredKeyPackage {
  /** base64url SHA-256 of `keyPackage`'s bytes: the id the directory stores it under. */
  id: string;
  /** The KeyPackage framed as an MLSMessage, base64. */
  keyPackage: string;
  initPrivateKey: string;
  hpkePrivateKey: string;
  lastResort: boolean;
  createdAt: string;
  notAfter: string;
}

export interface DeviceRecord {
  clientId: string;
  name: string;
  createdAt: string;
  signaturePublicKey: string;
  signaturePrivateKey: string;
  /** DER certificates, base64, leaf first. */
  credentialChain: string[];
  credentialNotAfter: string;
  keyPackages: StoredKeyPackage[];
}

export type ChannelStatus = "pending" | "active" | "left" | "failed";

/** A commit submitted to the channel and not yet accepted: its state is adopted on Accept. */
export interface PendingChange {
  activityId: string;
  /** `update`: a key update (a commit refreshing our own leaf); acct and actor are ours. */
  kind: "add" | "remove" | "update";
  acct: string;
  actor: string;
  /** For an add: the claimed KeyPackages (base64), reused if the commit must be rebuilt. */
  keyPackages: string[];
  /** Encoded MLS state after the commit, base64. */
  newState: string;
  newEpoch: number;
  attempts: number;
  submittedAt: string;
}

export interface ChannelRecord {
  /** base64url of the MLS group id. */
  id: string;
  url: string;
  name: string;
  status: ChannelStatus;
  /** Encoded MLS client state, base64 (dropped once the channel is left). */
  state?: string;
  epoch: number;
  createdAt: string;
  /** Id of our Create{Service}, while the channel's server has not accepted it. */
  createActivityId?: string;
  pending?: PendingChange;
  /** acct (`acct:user@host`) -> actor URL, learned from Create and Add activities. */
  actors: Record<string, string>;
  /** The last channel log entry applied: every entry up to it is applied (or was ours). */
  logSequence: number;
  /** Entries known before their turn, waiting for the ones before them (see channel-order.ts). */
  ahead?: AheadEntry[];
  /** Recently handled activity ids (newest last), so a log catch-up and the mailbox do not double-process. */
  seen: string[];
  /** Our messages the channel has not answered yet (newest last), so an answer finds its message at once. */
  unanswered?: string[];
  /**
   * Senders of the latest messages by id (newest last, at most MAX_KNOWN_AUTHORS), so an edit or a
   * deletion by anyone but the author is refused on arrival without reading the whole log.
   */
  authors?: [id: string, senderUri: string][];
  /** Our renames and role changes the channel has not answered yet (newest last). */
  submitted?: { activityId: string; what: "rename" | "role"; previousName?: string }[];
  /** Why the channel was left or failed. */
  note?: string;
  /**
   * This device is behind the channel: an entry it must apply before any later one (a commit whose
   * credential check cannot reach a peer now, say) has not applied yet. Tried again on every sync
   * until it applies; cleared then.
   */
  outOfSync?: OutOfSync;
  /**
   * Our leaf's last key update (or its refusal): when, and how many messages were sent or received
   * since. Absent: none since the channel's record was made (`createdAt`).
   */
  keyUpdate?: { at: string; messages: number; refused?: string };
  /**
   * For a group DM's MLS group (docs/protocol.md section 14): its participant set P and conversation
   * key, from its Create (log entry 1). Each participant's actor is in `actors`.
   */
  dm?: { participants: string[]; conversation: string };
}

/** Why a channel is out of sync on this device, since when, and when it was last tried. */
export interface OutOfSync {
  reason: string;
  /** The entry that waits, when one does (a commit that did not apply). */
  activityId?: string;
  since: string;
  triedAt: string;
}

/**
 * One line of a channel's message log: a message, or an edit, deletion or reaction of one (`kind`).
 * The log only grows; `messageView` (conversation/message-view.ts) folds it into what is shown.
 */
export interface StoredMessage {
  /** The message id, 64 hex digits: MIMI content's (see content/mimi-content.ts `messageIdOf`). */
  id: string;
  activityId: string;
  channelId: string;
  /** The member whose signature MLS verified, never what the plaintext claims. */
  senderUri: string;
  /** The ActivityPub actor that submitted the message. */
  actor: string;
  /**
   * Milliseconds since the epoch: when this client sent or received the message (MIMI content
   * carries no time); for the earlier JSON profile, the sender's clock.
   */
  timestamp: number;
  receivedAt: string;
  /** Absent in lines stored by earlier versions: a message. */
  kind?: MessageKind;
  /** How the plaintext was encoded; absent in lines stored by earlier versions (the JSON profile). */
  format?: PlaintextFormat;
  /** The media type of what is shown, or of what could not be shown. */
  contentType: string;
  /** The text shown; empty for a deletion and for unsupported content. */
  content: string;
  /** Content this client does not show, kept with its type (`contentType`) and size. */
  unsupported?: { size: number };
  /** The message this one answers (or, for a reaction, reacts to). */
  inReplyTo?: string;
  /** The message this edit or deletion replaces (its first version). */
  replaces?: string;
  direction: "in" | "out";
  /** For our own messages: whether the channel took it. */
  status?: "sent" | "accepted" | "rejected";
  epoch: number;
}

/** One line of a channel's message log: a stored message, or a later status of one of ours. */
type MessageLogEntry =
  | { message: StoredMessage }
  | { activityId: string; status: NonNullable<StoredMessage["status"]> };

export const MAX_SEEN_IDS = 500;
export const MAX_KNOWN_AUTHORS = 1000;

const inProcessLocks = new Map<string, Promise<unknown>>();

export class AccountStore {
  constructor(readonly dir: string) {}

  private path(...parts: string[]) {
    return join(this.dir, ...parts);
  }

  async readJson<T>(path: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(path, "utf8")) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  loadDevice() {
    return this.readJson<DeviceRecord>(this.path("device.json"));
  }

  saveDevice(device: DeviceRecord) {
    return writeJsonAtomic(this.path("device.json"), device);
  }

  async loadCursor(): Promise<number> {
    return (await this.readJson<{ cursor: number }>(this.path("mailbox.json")))?.cursor ?? 0;
  }

  saveCursor(cursor: number) {
    return writeJsonAtomic(this.path("mailbox.json"), { cursor });
  }

  loadChannel(id: string) {
    return this.readJson<ChannelRecord>(this.path("channels", `${id}.json`));
  }

  saveChannel(channel: ChannelRecord) {
    if (channel.seen.length > MAX_SEEN_IDS) channel.seen = channel.seen.slice(-MAX_SEEN_IDS);
    if (channel.submitted && channel.submitted.length > MAX_SEEN_IDS)
      channel.submitted = channel.submitted.slice(-MAX_SEEN_IDS);
    if (channel.unanswered && channel.unanswered.length > MAX_SEEN_IDS)
      channel.unanswered = channel.unanswered.slice(-MAX_SEEN_IDS);
    if (channel.authors && channel.authors.length > MAX_KNOWN_AUTHORS)
      channel.authors = channel.authors.slice(-MAX_KNOWN_AUTHORS);
    return writeJsonAtomic(this.path("channels", `${channel.id}.json`), channel);
  }

  async listChannels(): Promise<ChannelRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.path("channels"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const channels: ChannelRecord[] = [];
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      const channel = await this.readJson<ChannelRecord>(this.path("channels", name));
      if (channel) channels.push(channel);
    }
    return channels;
  }

  /**
   * The channel's messages in the order they were stored: those of `messages/<id>.json` (a JSON
   * array, as earlier versions wrote it), then those of the log `messages/<id>.jsonl`, with the
   * status changes the log records applied. A torn last line (a crash mid-append) is skipped. Ids
   * stored by earlier versions (base64url) are read as hex, the form every id has now.
   */
  async loadMessages(channelId: string): Promise<StoredMessage[]> {
    const messages = (
      (await this.readJson<StoredMessage[]>(this.path("messages", `${channelId}.json`))) ?? []
    ).map(withCurrentIds);
    const byActivity = new Map(messages.map((message) => [message.activityId, message]));
    for (const entry of await this.readMessageLog(channelId)) {
      if ("message" in entry) {
        const message = withCurrentIds(entry.message);
        messages.push(message);
        byActivity.set(message.activityId, message);
      } else {
        const message = byActivity.get(entry.activityId);
        if (message) message.status = entry.status;
      }
    }
    return messages;
  }

  /** Stores one more message: one line appended, whatever the channel's history holds. */
  appendMessage(channelId: string, message: StoredMessage): Promise<void> {
    return this.appendToMessageLog(channelId, { message });
  }

  /** Records the channel's answer to one of our messages: one line appended. */
  setMessageStatus(
    channelId: string,
    activityId: string,
    status: NonNullable<StoredMessage["status"]>,
  ): Promise<void> {
    return this.appendToMessageLog(channelId, { activityId, status });
  }

  private async appendToMessageLog(channelId: string, entry: MessageLogEntry): Promise<void> {
    const path = this.path("messages", `${channelId}.jsonl`);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const file = await open(path, "a+", 0o600);
    try {
      // A line torn by a crash is ended first, so it cannot swallow this one.
      const { size } = await file.stat();
      const last = Buffer.alloc(1);
      if (size > 0) await file.read(last, 0, 1, size - 1);
      const separator = size > 0 && last[0] !== 0x0a ? "\n" : "";
      await file.write(`${separator}${JSON.stringify(entry)}\n`);
    } finally {
      await file.close();
    }
  }

  private async readMessageLog(channelId: string): Promise<MessageLogEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path("messages", `${channelId}.jsonl`), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const entries: MessageLogEntry[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        entries.push(JSON.parse(line) as MessageLogEntry);
      } catch {
        // Only the last line can be incomplete; every earlier one was written whole.
      }
    }
    return entries;
  }

  /**
   * Runs `action` holding this account's lock: first among callers in this process, then across
   * processes through an exclusive lock file naming the holder's pid (a dead holder's lock is taken over).
   */
  async withLock<T>(action: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
    const previous = inProcessLocks.get(this.dir) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.withFileLock(action, timeoutMs));
    inProcessLocks.set(this.dir, run);
    try {
      return await run;
    } finally {
      if (inProcessLocks.get(this.dir) === run) inProcessLocks.delete(this.dir);
    }
  }

  private async withFileLock<T>(action: () => Promise<T>, timeoutMs: number): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lockPath = this.path("lock");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const handle = await open(lockPath, "wx", 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
        if (!processAlive(holder)) {
          await rm(lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline)
          throw new Error(`${this.dir} is locked by process ${holder} (another mimi command is running)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    try {
      return await action();
    } finally {
      await unlink(lockPath).catch(() => undefined);
    }
  }
}

function withCurrentIds(message: StoredMessage): StoredMessage {
  return {
    ...message,
    id: normalizeMessageId(message.id),
    ...(message.inReplyTo !== undefined ? { inReplyTo: normalizeMessageId(message.inReplyTo) } : {}),
  };
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
