import type { ChannelRecord, StoredMessage } from "./account-store.js";

/** The options, results and events of `MimiClient`'s public API. */

export interface MimiClientOptions {
  /** MIMI_HOME: the folder holding `accounts/<user@domain>/`. */
  home: string;
  /** `user@domain`; default: the current account of `home`. */
  handle?: string;
  /** Replaces global fetch (tests route it to a fake provider). */
  fetch?: typeof fetch;
  /** MIMI_DEV_CONNECT_TO, for fetching other domains' mimi-configuration in development. */
  connectTo?: string | ReadonlyMap<string, string>;
  /** KeyPackages kept on the server per device (default 10); topped up below `keyPackageThreshold` (default 5). */
  keyPackageTarget?: number;
  keyPackageThreshold?: number;
  /** Automatic key updates (default: after 7 days or 1000 messages). */
  keyUpdate?: KeyUpdatePolicy;
  now?: () => Date;
}

/** What a submission of ours did (`update`: a key update of our own leaf). */
export type ChangeKind = "create" | "add" | "remove" | "update" | "message" | "rename" | "role" | "leave";

/**
 * When the SDK commits a key update of this device's leaf by itself, during `sync` and `listen`: once
 * the last one (or joining) is `maxAgeMs` old or `maxMessages` messages were sent or received since.
 * `false` turns it off; `rotateKeys` still works.
 */
export type KeyUpdatePolicy = false | { maxAgeMs?: number; maxMessages?: number };

export interface ChannelSummary {
  id: string;
  url: string;
  name: string;
  status: ChannelRecord["status"];
  epoch: number;
  /** A submitted change (create, add, remove) the channel has not answered yet. */
  waiting: boolean;
  note?: string;
  /**
   * This device is behind the channel and why: an entry that must apply first did not (yet). It is
   * tried again on every sync; messages after it wait (they are not lost).
   */
  outOfSync?: { reason: string; since: string };
  /** For a group DM's group: its participants (lowercase acct URIs, sorted), us included. */
  dm?: { participants: string[] };
}

export type ClientEvent =
  | { type: "message"; channel: ChannelSummary; message: StoredMessage }
  | { type: "joined"; channel: ChannelSummary; by: string }
  | { type: "member-added"; channel: ChannelSummary; actor: string; accts: string[]; by: string }
  | { type: "member-removed"; channel: ChannelSummary; actor: string; by: string }
  | { type: "renamed"; channel: ChannelSummary; name: string; by: string }
  | {
      type: "accepted";
      channel: ChannelSummary;
      activityId: string;
      what: ChangeKind;
      epoch?: number;
    }
  | {
      type: "rejected";
      channel: ChannelSummary;
      activityId: string;
      what: ChangeKind;
      reason: string;
      /** True when the change was rebuilt on the current epoch and submitted again. */
      retried: boolean;
    }
  /** This account is no longer a member: it left (`voluntary`), or `by` removed it. */
  | { type: "left"; channel: ChannelSummary; by: string; voluntary: boolean }
  /** A member left (Leave); one of the remaining members commits their Remove. */
  | { type: "member-left"; channel: ChannelSummary; actor: string }
  /** A member (`by`) committed a key update of their own leaf. */
  | { type: "keys-updated"; channel: ChannelSummary; by: string }
  /** The SDK submitted a key update of our leaf by itself (the policy said it was due); answered later. */
  | { type: "key-update-submitted"; channel: ChannelSummary; activityId: string; epoch: number }
  | { type: "role-changed"; channel: ChannelSummary; actor: string; role: "admin" | "member"; by: string }
  | {
      type: "skipped";
      activityId: string;
      reason: string;
      /** The channel the activity is about, when it is one of ours. */
      channel?: ChannelSummary;
    };

export interface SyncResult {
  processed: number;
  cursor: number;
  events: ClientEvent[];
  /** Problems that did not stop the sync (e.g. topping up KeyPackages failed). */
  warnings: string[];
}

export interface DeviceResult {
  clientId: string;
  name: string;
  credentialNotAfter: string;
  keyPackages: KeyPackageResult | { ok: false; detail: string };
}

export interface KeyPackageResult {
  ok: true;
  clientId: string;
  /** KeyPackages the server holds for this device after the top-up. */
  available: number;
  uploaded: number;
  hasLastResort: boolean;
}

export interface SubmittedChange {
  channel: ChannelSummary;
  activityId: string;
  /** The epoch the channel moves to once it accepts. */
  epoch: number;
}

export type ChannelRole = "owner" | "admin" | "member";

export interface MemberList {
  channel: ChannelSummary;
  /** From the MLS roster: one entry per account, with its clients and its role as the channel publishes it. */
  members: { acct: string; actor?: string; clients: string[]; role?: ChannelRole }[];
  /** The channel's followers collection, read through the home server. */
  followers?: string[];
  followersError?: string;
}

export interface ListenOptions {
  signal?: AbortSignal;
  reconnectMs?: number;
  /**
   * The stream is given up and reopened from the cursor when nothing (not even the server's
   * heartbeat) arrived for this long (default 45 s, three of the server's 15 s heartbeats).
   */
  idleTimeoutMs?: number;
  onWarning?: (warning: string) => void;
  /**
   * How often a channel left out of sync is looked at again while nothing arrives (default 1 s); it is
   * tried again once it was last tried 15 s ago.
   */
  retryCheckMs?: number;
  /**
   * The longest wait after the server refused a stream (429, too many open streams for the account),
   * whatever its `Retry-After` asks (default 60 s).
   */
  maxRetryAfterMs?: number;
}
