import { type AccountDeletion, actorDeleteActivity, deleteAccountWith } from "./account-deletion.js";
import type { DeviceRecord, StoredMessage } from "./account-store.js";
import { isSessionEnded, type KeyPackageClaimCollection, type MailboxItem, type SessionInfo } from "./api.js";
import { ChannelCommands } from "./channel-commands.js";
import type {
  ChannelSummary,
  ClientEvent,
  DeviceResult,
  KeyPackageResult,
  ListenOptions,
  MemberList,
  MimiClientOptions,
  SubmittedChange,
  SyncResult,
} from "./client-types.js";
import { type AccountContext, openAccountContext } from "./context.js";
import { commitDepartures, type LeaveStatus } from "./conversation/departures.js";
import { type KeyUpdateLimits, keyUpdateLimits, updateKeysWhereDue } from "./conversation/key-updates.js";
import type { ChannelMessage } from "./conversation/message-view.js";
import { joinUserChannels, loadJoins } from "./device/channel-joins.js";
import { DeviceKeys } from "./device/device-keys.js";
import {
  type DeviceRemovalResult,
  deleteRemovedDevice,
  deviceNamed,
  removalUnfinished,
  submitDeviceRemoval,
} from "./device/device-removal.js";
import {
  type DeviceInfo,
  type DeviceJoinResult,
  joinChannelsUntilAnswered,
  listDevices,
} from "./device/devices.js";
import { KeyPackageTopUp } from "./device/key-package-top-up.js";
import { DmCommands, type DmConversation, type DmPlan } from "./dm/dm-commands.js";
import { errorText, MimiClientError } from "./errors.js";
import { handleOfAcct } from "./names.js";
import { retryPendingAdds } from "./pending-adds.js";
import { StateStore, type StoredAccount } from "./state.js";
import { MAILBOX_PAGE, SyncEngine } from "./sync/engine.js";
import { followMailbox } from "./sync/listen.js";

export type {
  ChannelRole,
  ChannelSummary,
  ClientEvent,
  DeviceResult,
  KeyPackageResult,
  MemberList,
  MimiClientOptions,
  SubmittedChange,
  SyncResult,
} from "./client-types.js";
export { MimiClientError } from "./errors.js";
export { handleOfAcct, normalizeAcct } from "./names.js";

/** The parts of one opened account; they hold no state of their own beyond `SyncEngine`'s catch-up guard. */
interface AccountParts {
  ctx: AccountContext;
  keys: DeviceKeys;
  engine: SyncEngine;
  channels: ChannelCommands;
  /** Looks at the server's KeyPackage count now and then during syncs, and tops the pool up. */
  topUp: KeyPackageTopUp;
  dms: DmCommands;
}

/**
 * One account's MIMI client: device registration, channels (create, add, remove, rename, send),
 * and the processing of everything the home server delivers. State lives on disk under
 * `home/accounts/<user@domain>/`, re-read for every operation under the account's lock, so several
 * processes can share it. Commits stay pending until the channel accepts them.
 *
 * A facade: device keys live in `device/`, one conversation's state and MLS work in `conversation/`,
 * the mailbox, the channel's order and the trust checks in `sync/`.
 */
export class MimiClient {
  private opened: Promise<AccountParts> | undefined;
  private readonly target: number;
  private readonly threshold: number;
  private readonly keyUpdates: KeyUpdateLimits | undefined;

  constructor(readonly options: MimiClientOptions) {
    this.target = options.keyPackageTarget ?? 10;
    this.threshold = options.keyPackageThreshold ?? 5;
    this.keyUpdates = keyUpdateLimits(options.keyUpdate);
  }

  private open(): Promise<AccountParts> {
    this.opened ??= (async () => {
      const ctx = await openAccountContext(this.options);
      const keys = new DeviceKeys(ctx, { target: this.target, threshold: this.threshold });
      const engine = new SyncEngine(ctx, keys);
      const topUp = new KeyPackageTopUp(ctx, keys);
      const channels = new ChannelCommands(ctx, keys, engine);
      return { ctx, keys, engine, channels, topUp, dms: new DmCommands(ctx, keys, engine) };
    })();
    return this.opened;
  }

  /** Every operation runs under the account's lock (in-process and across processes) and re-reads the state. */
  private async locked<T>(action: (parts: AccountParts) => Promise<T>): Promise<T> {
    const parts = await this.open();
    return parts.ctx.store.withLock(() => action(parts));
  }

  /** Releases network resources (the connection pool for other domains' configuration). */
  async close(): Promise<void> {
    if (this.opened) await (await this.opened).ctx.validation.close();
  }

  async account(): Promise<StoredAccount> {
    return (await this.open()).ctx.account;
  }

  // Device and KeyPackages

  async device(): Promise<DeviceRecord | undefined> {
    return (await this.open()).keys.load();
  }

  /**
   * Registers this device: a client on the server, a signature key, a credential issued after a proof
   * of possession, and a pool of KeyPackages (plus a last-resort one). A failed upload is reported in
   * the result; `replenishKeyPackages` retries it.
   */
  addDevice(name: string): Promise<DeviceResult> {
    return this.locked(({ keys }) => keys.register(name));
  }

  /** Uploads fresh KeyPackages when the server holds fewer than the threshold (and a last-resort one if missing). */
  replenishKeyPackages(options: { force?: boolean } = {}): Promise<KeyPackageResult> {
    return this.locked(async ({ keys }) => keys.topUp(await keys.require(), options.force === true));
  }

  /**
   * A new device joins every channel of the user it holds nothing of, by external commit (see
   * `device/channel-joins.ts`; `sync` does it too): syncs until the channels answered or `timeoutMs`.
   */
  joinChannels(options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<DeviceJoinResult> {
    return joinChannelsUntilAnswered(
      () => this.sync(),
      () => this.locked(({ ctx }) => loadJoins(ctx)),
      options,
    );
  }

  /**
   * Takes one of the user's other devices (by name or client id) out of every channel this device is
   * in (`Remove{mimi:Device}`), then syncs until the channels answered or `timeoutMs` passed.
   */
  async removeDevice(
    reference: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<DeviceRemovalResult> {
    const { ctx, keys } = await this.open();
    const device = deviceNamed(await listDevices(ctx, await keys.load()), reference);
    await this.sync();
    const submitted = await this.locked(({ ctx }) => submitDeviceRemoval(ctx, device));
    const waitingFor = new Set(submitted.submitted.map((change) => change.channel.url));
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const events: ClientEvent[] = [];
    for (;;) {
      events.push(...(await this.sync()).events);
      const waiting = (await this.channels()).filter((c) => waitingFor.has(c.url) && c.waiting);
      if (waiting.length === 0 || Date.now() >= deadline) {
        const names = waiting.map((c) => c.name);
        const unfinished = removalUnfinished(submitted, events, names);
        const own = (await keys.load())?.clientId;
        const deletion = await deleteRemovedDevice(ctx, device, own, unfinished);
        return { device, ...submitted, events, waiting: names, ...deletion };
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  /** The user's devices (clients) registered at the home server; `current` marks this one. */
  async devices(): Promise<DeviceInfo[]> {
    const { ctx, keys } = await this.open();
    return listDevices(ctx, await keys.load());
  }

  // Channels

  channels(): Promise<ChannelSummary[]> {
    return this.locked(({ channels }) => channels.list());
  }

  /** Resolves a channel by URL, id or (unique) name. */
  channel(reference: string): Promise<ChannelSummary> {
    return this.locked(({ channels }) => channels.find(reference));
  }

  /** Creates a channel hosted by the home provider, with this device as its only member. */
  createChannel(name: string): Promise<ChannelSummary> {
    return this.locked(({ channels }) => channels.create(name));
  }

  /** Adds every client of `acct`: claims their KeyPackages through the home server, commits, submits Add. */
  addMember(reference: string, acct: string): Promise<SubmittedChange> {
    return this.locked(({ channels }) => channels.addMember(reference, acct));
  }

  /**
   * Commits a key update of this device's own leaf (a commit with a fresh UpdatePath and no proposals)
   * and submits it; like an Add it waits for the channel's answer. `sync` and `listen` also do this
   * by themselves when `keyUpdate` says it is due.
   */
  rotateKeys(reference: string): Promise<SubmittedChange> {
    return this.locked(({ channels }) => channels.rotateKeys(reference));
  }

  /** Removes every client of `acct` (every leaf whose credential names it) and submits Remove. */
  removeMember(reference: string, acct: string): Promise<SubmittedChange> {
    return this.locked(({ channels }) => channels.removeMember(reference, acct));
  }

  /**
   * Leaves a channel (`Leave`): syncs until the channel answers or `timeoutMs` passes. Once it accepts,
   * the channel is `left` here and its messages stay; a remaining member commits our removal. A
   * refusal (the owner cannot leave while others remain) comes back with the channel's reason.
   */
  async leave(
    reference: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<{ channel: ChannelSummary; outcome: LeaveStatus; events: ClientEvent[] }> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    await this.locked(({ channels }) => channels.leave(reference));
    const events: ClientEvent[] = [];
    for (;;) {
      const round = await this.locked(({ engine }) => engine.sync());
      events.push(...round.events);
      const { channel, outcome } = await this.locked(({ channels }) => channels.leaveOutcome(reference));
      if (outcome.status !== "waiting" || Date.now() >= deadline) return { channel, outcome, events };
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  /** Renames a channel (Update{Service}); the new name is shown locally at once. */
  rename(reference: string, name: string): Promise<ChannelSummary> {
    return this.locked(({ channels }) => channels.rename(reference, name));
  }

  /**
   * Gives a member the role `admin` or `member`. Only the channel's owner and admins may; the
   * channel's server answers a refusal with a Reject that `sync` reports.
   */
  setRole(
    reference: string,
    acct: string,
    role: "admin" | "member",
  ): Promise<{ channel: ChannelSummary; activityId: string }> {
    return this.locked(({ channels }) => channels.setRole(reference, acct, role));
  }

  /**
   * Syncs, then encrypts `text` on the current epoch and submits it; the message is stored locally.
   * `inReplyTo` (a stored message's id or a unique prefix of it, at least 4 hex digits) makes it a reply.
   */
  send(reference: string, text: string, options: { inReplyTo?: string } = {}): Promise<StoredMessage> {
    return this.locked(({ channels }) => channels.send(reference, text, options));
  }

  /** Replaces the text of one of our messages; receivers apply it only from the message's sender. */
  edit(reference: string, messageId: string, text: string): Promise<StoredMessage> {
    return this.locked(({ channels }) => channels.edit(reference, messageId, text));
  }

  /** Reacts to a message with a short text (an emoji, say). */
  react(reference: string, messageId: string, reaction: string): Promise<StoredMessage> {
    return this.locked(({ channels }) => channels.react(reference, messageId, reaction));
  }

  /** Deletes one of our messages; receivers apply it only from the message's sender. */
  deleteMessage(reference: string, messageId: string): Promise<StoredMessage> {
    return this.locked(({ channels }) => channels.deleteMessage(reference, messageId));
  }

  /**
   * The channel's messages as shown, from what is stored (no network): each message once, with its
   * latest text, earlier versions, deletion and reactions (see `messageView`).
   */
  messages(reference: string): Promise<{ channel: ChannelSummary; messages: ChannelMessage[] }> {
    return this.locked(({ channels }) => channels.messages(reference));
  }

  /** Members from the MLS roster, plus the channel's followers read through the home server. */
  members(reference: string): Promise<MemberList> {
    return this.locked(({ channels }) => channels.members(reference));
  }

  /**
   * Syncs until the channel has no change waiting for its server's answer (create, add, remove), or
   * until the timeout. Returns whether it settled and what happened meanwhile.
   */
  async waitForChannel(
    reference: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<{ settled: boolean; channel: ChannelSummary; events: ClientEvent[] }> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const events: ClientEvent[] = [];
    for (;;) {
      // Without automatic key updates: one would keep the channel waiting longer than asked.
      const round = await this.locked(({ engine }) => engine.sync());
      events.push(...round.events);
      const channel = await this.channel(reference);
      if (!channel.waiting || Date.now() >= deadline) return { settled: !channel.waiting, channel, events };
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  // Group DMs

  /**
   * Sends `text` to the conversation of exactly `participants` and us (accts such as `bob@b.test`),
   * a one-to-one conversation for one participant (docs/protocol.md section 14). Without a group for
   * it yet, starts one on the home provider and adds each other participant, one Add at a time,
   * each waiting for the group's Accept (up to `timeoutMs` each); the message goes out only once
   * everyone is in.
   */
  async dm(
    participants: readonly string[],
    text: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<{ message: StoredMessage; conversation: DmPlan; started: boolean; events: ClientEvent[] }> {
    if (text.length === 0) throw new MimiClientError("an empty message cannot be sent");
    const events: ClientEvent[] = [];
    const first = await this.locked(({ dms }) => dms.plan(participants));
    const started = first.group === undefined;
    // A new group is started only once every participant could be claimed: a wrong name makes nothing.
    const claims = started
      ? await this.locked(({ dms }) => dms.claimAll(first.missing))
      : new Map<string, KeyPackageClaimCollection>();
    const group = first.group ?? (await this.locked(({ dms }) => dms.start(first.participants)));
    const settle = async (what: string) => {
      const waited = await this.waitForChannel(group.url, options);
      events.push(...waited.events);
      if (!waited.settled)
        throw new MimiClientError(`${what} in ${group.url} got no answer yet: try again with mimi dm later`);
      if (waited.channel.status !== "active")
        throw new MimiClientError(
          `the conversation's group was refused: ${waited.channel.note ?? "rejected"}`,
        );
    };
    await settle("the start of the conversation");
    // The group we started (or found half made) is finished even if another group of the
    // conversation turned up meanwhile: no participant is left out of a group that exists.
    for (const acct of await this.locked(({ dms }) => dms.missingIn(group.url))) {
      await this.locked(({ channels }) => channels.addMember(group.url, acct, claims.get(acct)));
      await settle(`adding ${handleOfAcct(acct)}`);
    }
    // Sent in the lowest complete group (section 14.6), which another start may have brought.
    const plan = await this.locked(({ dms }) => dms.plan(participants));
    const sendIn = plan.group?.url ?? group.url;
    const message = await this.locked(({ dms }) => dms.send(sendIn, text));
    return { message, conversation: plan, started, events };
  }

  /** The group DMs this device takes part in, the latest first, each with its last message. */
  dms(): Promise<DmConversation[]> {
    return this.locked(({ dms }) => dms.list());
  }

  /** The messages of the conversation of `participants` and us, from every group it has. */
  readDm(
    participants: readonly string[],
  ): Promise<{ conversation: DmConversation; messages: ChannelMessage[] }> {
    return this.locked(({ dms }) => dms.read(participants));
  }

  // Mailbox

  /**
   * Reads the mailbox after the stored cursor and processes every activity in order; then commits a
   * key update in every channel where one is due (see `keyUpdate`).
   */
  sync(): Promise<SyncResult> {
    return this.locked(async ({ ctx, engine, keys, topUp, channels }) => {
      const result = await engine.sync();
      // A new device joins the user's channels it holds nothing of (by external commit).
      await joinUserChannels(ctx, keys, result.events, result.warnings);
      await commitDepartures(ctx, result.warnings);
      await topUp.whenDue(result.warnings);
      // Adds that waited for the added user's consent go through once they accepted.
      await retryPendingAdds(
        ctx.store,
        (channel, acct) => channels.addMember(channel, acct),
        result.warnings,
      );
      await updateKeysWhereDue(ctx, this.keyUpdates, result.events, result.warnings);
      return result;
    });
  }

  // Sessions

  /** The account's sessions (tokens) that are not logged out, newest first; `current` marks ours. */
  async sessions(): Promise<SessionInfo[]> {
    return (await (await this.open()).ctx.api.sessions()).sessions;
  }

  /**
   * Logs out: this session, or with `everywhere` every session of the account (other devices too).
   * The stored token is dropped either way, also when the server had ended the session already
   * (`alreadyEnded`); the device and its channels stay for the next login.
   */
  async logOut(options: { everywhere?: boolean } = {}): Promise<{ revoked: number; alreadyEnded: boolean }> {
    const result = await this.locked(async ({ ctx }) => {
      const outcome = { revoked: 0, alreadyEnded: false };
      try {
        if (options.everywhere) outcome.revoked = (await ctx.api.logOutEverywhere()).revoked;
        else {
          await ctx.api.logOut();
          outcome.revoked = 1;
        }
      } catch (error) {
        if (!isSessionEnded(error)) throw error;
        outcome.alreadyEnded = true;
      }
      await new StateStore(this.options.home).forgetToken(handleOfAcct(ctx.account.acct));
      return outcome;
    });
    // The opened account still holds the old token: the next operation reads the state again.
    await this.close();
    this.opened = undefined;
    return result;
  }

  /** Logs one of the account's sessions out, by the id `sessions()` lists. */
  async endSession(sessionId: string): Promise<void> {
    await (await this.open()).ctx.api.endSession(sessionId);
  }

  /**
   * Changes the account's password. The server logs every other session out (returned as
   * `revoked`); this one stays. A wrong current password is the server's 403.
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<{ revoked: number }> {
    return (await this.open()).ctx.api.changePassword(currentPassword, newPassword);
  }

  /**
   * Deletes the account: leaves every active channel first (best effort, each waiting up to
   * `leaveTimeoutMs` for the channel's answer; refusals are listed in the result), then asks the home
   * server to delete the account (`password` confirms it; a wrong one is the server's 403 and nothing
   * is deleted). The stored token is dropped; the device's folder stays.
   */
  async deleteAccount(password: string, options: { leaveTimeoutMs?: number } = {}): Promise<AccountDeletion> {
    const { ctx } = await this.open();
    const deletion = await deleteAccountWith({
      // A login checks the password before anything is left; the deletion ends that session too.
      checkPassword: async () => {
        await ctx.api.createToken(ctx.account.username, password, "account deletion");
      },
      channels: () => this.channels(),
      leave: (url) => this.leave(url, { timeoutMs: options.leaveTimeoutMs ?? 10_000 }),
      announceDeletion: (channel) =>
        ctx.api.postActivity(ctx.account.username, actorDeleteActivity(ctx.account.actor, channel)),
      deleteOnServer: () => ctx.api.deleteAccount(password),
    });
    await new StateStore(this.options.home).forgetToken(handleOfAcct(ctx.account.acct));
    await this.close();
    this.opened = undefined;
    return deletion;
  }

  /** The raw mailbox (does not move the sync cursor). */
  async inbox(options: { after?: number; limit?: number } = {}): Promise<MailboxItem[]> {
    const { ctx } = await this.open();
    return (await ctx.api.mailbox(options.after ?? 0, options.limit ?? MAILBOX_PAGE)).items;
  }

  /**
   * Follows the mailbox live (Server-Sent Events), processing each activity as `sync` does and
   * passing the events to `onEvent`. Reconnects from the stored cursor; ends when `signal` aborts.
   */
  async listen(onEvent: (event: ClientEvent) => void, options: ListenOptions = {}): Promise<void> {
    const { ctx } = await this.open();
    const handleItem = (item: MailboxItem) =>
      this.locked(async ({ engine, topUp }) => {
        const { events, warnings } = await engine.receiveLive(item);
        await commitDepartures(ctx, warnings);
        await topUp.whenDue(warnings);
        await updateKeysWhereDue(ctx, this.keyUpdates, events, warnings);
        for (const warning of warnings) options.onWarning?.(warning);
        return events;
      });
    // A channel left behind is tried again even when nothing arrives for it (see SyncEngine.retryDue).
    let checking = false;
    const check = async () => {
      if (checking) return;
      checking = true;
      try {
        const { events, warnings } = await this.locked(({ engine }) => engine.retryDue());
        for (const warning of warnings) options.onWarning?.(warning);
        for (const event of events) onEvent(event);
      } catch (error) {
        options.onWarning?.(`retrying a channel out of sync failed: ${errorText(error)}`);
      } finally {
        checking = false;
      }
    };
    const timer = setInterval(() => void check(), options.retryCheckMs ?? 1_000);
    try {
      await followMailbox(ctx, handleItem, onEvent, options);
    } finally {
      clearInterval(timer);
    }
  }
}
