import {
  type ClientState,
  commit,
  decodeClientState,
  encodeClientState,
  fromWireObject,
  groupEpoch,
  groupIdOf,
  processIncoming,
  roster,
} from "@mimi/mls";
import type { ChannelRecord, DeviceRecord, PendingChange, StoredMessage } from "./account-store.js";
import {
  type Activity,
  addActivity,
  idOf,
  numberField,
  objectField,
  removeActivity,
  renameActivity,
  roleActivity,
  stringField,
} from "./activities.js";
import {
  type ChannelLogItem,
  type KeyPackageClaimCollection,
  type MailboxItem,
  MimiApiError,
  type ProviderApi,
} from "./api.js";
import { hasGap, nextEntry, placeOf, pruned, withAhead } from "./channel-order.js";
import type {
  ChannelSummary,
  ClientEvent,
  DeviceResult,
  KeyPackageResult,
  MemberList,
  MimiClientOptions,
  SubmittedChange,
  SyncResult,
} from "./client-types.js";
import { parseContent } from "./content.js";
import { type AccountContext, openAccountContext } from "./context.js";
import { proposeAdd, proposeRemove, startChannel } from "./conversation/commits.js";
import { activeConversation, changeableConversation, resolveConversation } from "./conversation/directory.js";
import { encryptMessage } from "./conversation/messages.js";
import {
  actorNamedByClaim,
  clientIdsIn,
  clientsByAcct,
  keyPackagesToAdd,
  leavesOf,
  rolesOf,
} from "./conversation/roster.js";
import { ConversationSession } from "./conversation/session.js";
import { credentialNames } from "./credential-validation.js";
import { DeviceKeys } from "./device/device-keys.js";
import { errorText, MimiClientError } from "./errors.js";
import {
  acctsAddedBy,
  channelIdOfUrl,
  fromBase64,
  groupInfoSignerAcct,
  readKeyPackageBytes,
  toBase64,
} from "./mls-wire.js";
import { checkChannelName, domainOfAcct, handleOfAcct, normalizeAcct } from "./names.js";
import { SseParser } from "./sse.js";
import type { StoredAccount } from "./state.js";

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

const MAILBOX_PAGE = 100;
/** The object type of a role change (an Update the channel's owner or an admin submits). */
const ROLE_TYPE = "mimi:Role";

/**
 * One account's MIMI client: device registration, channels (create, add, remove, rename, send),
 * and the processing of everything the home server delivers. State lives on disk under
 * `home/accounts/<user@domain>/`, re-read for every operation under the account's lock, so several
 * processes can share it. Commits stay pending until the channel accepts them.
 */
export class MimiClient {
  private session: Promise<AccountContext> | undefined;
  /** Channels whose log is being applied right now (a catch-up is not re-entered). */
  private readonly catchingUp = new Set<string>();
  private readonly target: number;
  private readonly threshold: number;

  constructor(readonly options: MimiClientOptions) {
    this.target = options.keyPackageTarget ?? 10;
    this.threshold = options.keyPackageThreshold ?? 5;
  }

  private open(): Promise<AccountContext> {
    this.session ??= openAccountContext(this.options);
    return this.session;
  }

  private async locked<T>(action: (s: AccountContext) => Promise<T>): Promise<T> {
    const session = await this.open();
    return session.store.withLock(() => action(session));
  }

  /** Releases network resources (the connection pool for other domains' configuration). */
  async close(): Promise<void> {
    if (this.session) await (await this.session).validation.close();
  }

  async account(): Promise<StoredAccount> {
    return (await this.open()).account;
  }

  // -------------------------------------------------------------------------
  // Device and KeyPackages
  // -------------------------------------------------------------------------

  async device(): Promise<DeviceRecord | undefined> {
    return (await this.open()).store.loadDevice();
  }

  /**
   * Registers this device: a client on the server, a signature key, a credential issued after a proof
   * of possession, and a pool of KeyPackages (plus a last-resort one). A failed upload is reported in
   * the result; `replenishKeyPackages` retries it.
   */
  addDevice(name: string): Promise<DeviceResult> {
    return this.locked((s) => this.keys(s).register(name));
  }

  /** Uploads fresh KeyPackages when the server holds fewer than the threshold (and a last-resort one if missing). */
  replenishKeyPackages(options: { force?: boolean } = {}): Promise<KeyPackageResult> {
    return this.locked(async (s) => {
      const keys = this.keys(s);
      return keys.topUp(await keys.require(), options.force === true);
    });
  }

  private keys(s: AccountContext): DeviceKeys {
    return new DeviceKeys(s, { target: this.target, threshold: this.threshold });
  }

  // -------------------------------------------------------------------------
  // Channels
  // -------------------------------------------------------------------------

  channels(): Promise<ChannelSummary[]> {
    return this.locked(async (s) => (await ConversationSession.all(s)).map((session) => session.summary()));
  }

  /** Resolves a channel by URL, id or (unique) name. */
  channel(reference: string): Promise<ChannelSummary> {
    return this.locked(async (s) => (await resolveConversation(s, reference)).summary());
  }

  /** Creates a channel hosted by the home provider, with this device as its only member. */
  createChannel(name: string): Promise<ChannelSummary> {
    return this.locked(async (s) => {
      checkChannelName(name);
      const keys = this.keys(s);
      const device = await keys.require();
      const { session, activity } = await startChannel(s, await keys.ownLeaf(device), name);
      await session.submitCreate(activity);
      return session.summary();
    });
  }

  /** Adds every client of `acct`: claims their KeyPackages through the home server, commits, submits Add. */
  addMember(reference: string, acct: string): Promise<SubmittedChange> {
    return this.locked(async (s) => {
      await this.syncLocked(s);
      const session = await changeableConversation(s, reference);
      const target = normalizeAcct(acct);
      const state = session.state();
      const claim = await s.api.claimKeyPackages(target);
      const items = claim.items ?? claim.orderedItems ?? [];
      const keyPackages = keyPackagesToAdd(items, target, clientIdsIn(state));
      if (keyPackages.length === 0)
        throw new MimiClientError(
          items.length === 0
            ? `${handleOfAcct(target)} has no KeyPackages available (no registered device?)`
            : `${handleOfAcct(target)} is already a member of ${session.record.name}`,
        );
      const actor = await this.actorOf(s, session, target, claim);
      const activity = await proposeAdd(session, { acct: target, actor, keyPackages });
      return session.submitPending(activity);
    });
  }

  /** Removes every client of `acct` (every leaf whose credential names it) and submits Remove. */
  removeMember(reference: string, acct: string): Promise<SubmittedChange> {
    return this.locked(async (s) => {
      await this.syncLocked(s);
      const session = await changeableConversation(s, reference);
      const target = normalizeAcct(acct);
      if (target === s.account.acct) throw new MimiClientError("you cannot remove yourself from a channel");
      const leaves = leavesOf(session.state(), target);
      if (leaves.length === 0)
        throw new MimiClientError(`${handleOfAcct(target)} is not a member of ${session.record.name}`);
      const actor = await this.actorOf(s, session, target);
      const activity = await proposeRemove(session, { acct: target, actor, leaves });
      return session.submitPending(activity);
    });
  }

  /**
   * The actor URL of an account: named by the claim answer, known from the channel's history, or
   * (for a user of the home provider) found by WebFinger on the home server.
   */
  private async actorOf(
    s: AccountContext,
    session: ConversationSession,
    acct: string,
    claim?: KeyPackageClaimCollection,
  ): Promise<string> {
    const named = claim ? actorNamedByClaim(claim) : undefined;
    if (named) return named;
    const known = session.record.actors[acct];
    if (known) return known;
    if (domainOfAcct(acct) === domainOfAcct(s.account.acct)) {
      const jrd = await s.api.webfinger(acct);
      const self = jrd.links?.find((link) => link.rel === "self" && typeof link.href === "string");
      if (self?.href) return self.href;
    }
    throw new MimiClientError(
      `cannot tell the actor URL of ${handleOfAcct(acct)} (the claim answer does not name it)`,
    );
  }

  /** Renames a channel (Update{Service}); the new name is shown locally at once. */
  rename(reference: string, name: string): Promise<ChannelSummary> {
    return this.locked(async (s) => {
      checkChannelName(name);
      const session = await activeConversation(s, reference);
      const activity = renameActivity(s.account.actor, session.record.url, name);
      await session.post(activity);
      session.awaitAnswer({ activityId: activity.id, what: "rename", previousName: session.record.name });
      session.record.name = name;
      await session.save();
      return session.summary();
    });
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
    return this.locked(async (s) => {
      const session = await activeConversation(s, reference);
      const target = normalizeAcct(acct);
      const actor = await this.actorOf(s, session, target);
      const activity = roleActivity(s.account.actor, session.record.url, actor, role);
      await session.post(activity);
      session.awaitAnswer({ activityId: activity.id, what: "role" });
      await session.save();
      return { channel: session.summary(), activityId: activity.id };
    });
  }

  /** Syncs, then encrypts `text` on the current epoch and submits it; the message is stored locally. */
  send(reference: string, text: string, options: { inReplyTo?: string } = {}): Promise<StoredMessage> {
    return this.locked(async (s) => {
      await this.syncLocked(s);
      const session = await activeConversation(s, reference);
      if (text.length === 0) throw new MimiClientError("an empty message cannot be sent");
      const { activity, message } = await encryptMessage(session, text, options);
      try {
        await session.post(activity);
      } catch (error) {
        message.status = "rejected";
        await s.store.setMessageStatus(session.id, message.activityId, "rejected");
        throw error;
      }
      return message;
    });
  }

  /** The messages stored for a channel (no network). */
  messages(reference: string): Promise<{ channel: ChannelSummary; messages: StoredMessage[] }> {
    return this.locked(async (s) => {
      const session = await resolveConversation(s, reference);
      return { channel: session.summary(), messages: await s.store.loadMessages(session.id) };
    });
  }

  /** Members from the MLS roster, plus the channel's followers read through the home server. */
  members(reference: string): Promise<MemberList> {
    return this.locked(async (s) => {
      const session = await resolveConversation(s, reference);
      const record = session.record;
      const byAcct = record.state ? clientsByAcct(session.state()) : new Map<string, string[]>();
      const result: MemberList = {
        channel: session.summary(),
        members: [...byAcct].map(([acct, clients]) => ({
          acct,
          ...(record.actors[acct] ? { actor: record.actors[acct] } : {}),
          clients,
        })),
      };
      try {
        const followers = await s.api.channelFollowers(record.url);
        result.followers = (followers.orderedItems ?? followers.items ?? []).filter(
          (item): item is string => typeof item === "string",
        );
        const roles = rolesOf(followers["mimi:roles"]);
        for (const member of result.members) {
          const role = member.actor === undefined ? undefined : roles.get(member.actor);
          if (role) member.role = role;
        }
      } catch (error) {
        result.followersError = errorText(error);
      }
      return result;
    });
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
      const round = await this.sync();
      events.push(...round.events);
      const channel = await this.channel(reference);
      if (!channel.waiting || Date.now() >= deadline) return { settled: !channel.waiting, channel, events };
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  // -------------------------------------------------------------------------
  // Mailbox processing
  // -------------------------------------------------------------------------

  /** Reads the mailbox after the stored cursor and processes every activity in order. */
  sync(): Promise<SyncResult> {
    return this.locked((s) => this.syncLocked(s));
  }

  /** The raw mailbox (does not move the sync cursor). */
  async inbox(options: { after?: number; limit?: number } = {}): Promise<MailboxItem[]> {
    const s = await this.open();
    return (await s.api.mailbox(options.after ?? 0, options.limit ?? MAILBOX_PAGE)).items;
  }

  private async syncLocked(s: AccountContext): Promise<SyncResult> {
    const result: SyncResult = { processed: 0, cursor: await s.store.loadCursor(), events: [], warnings: [] };
    let joined = false;
    for (;;) {
      const page = await s.api.mailbox(result.cursor, MAILBOX_PAGE);
      for (const item of page.items) {
        if (item.cursor <= result.cursor) continue;
        joined = (await this.handleItem(s, item, result.events)) || joined;
        result.cursor = item.cursor;
        result.processed += 1;
        await s.store.saveCursor(result.cursor);
      }
      if (page.items.length < MAILBOX_PAGE) break;
    }
    // Entries still waiting once the whole mailbox was read were not delivered (yet): the log has them.
    for (const record of await s.store.listChannels()) {
      if (record.status === "active" && hasGap(record.ahead, record.logSequence))
        await this.fillGap(s, record, result.events, result.warnings);
    }
    if (joined) await this.keys(s).topUpQuietly(result.warnings);
    return result;
  }

  /** Applies the log after the last applied entry; a log that cannot be read now is tried on the next sync. */
  private async fillGap(s: AccountContext, record: ChannelRecord, events: ClientEvent[], warnings: string[]) {
    try {
      await this.catchUp(s, record, events);
    } catch (error) {
      warnings.push(
        `${record.name}: entries after ${record.logSequence} are missing and the channel's log could not be read: ${errorText(error)}`,
      );
    }
  }

  /**
   * Follows the mailbox live (Server-Sent Events), processing each activity as `sync` does and
   * passing the events to `onEvent`. Reconnects from the stored cursor; ends when `signal` aborts.
   */
  async listen(
    onEvent: (event: ClientEvent) => void,
    options: {
      signal?: AbortSignal;
      reconnectMs?: number;
      /**
       * The stream is given up and reopened from the cursor when nothing (not even the server's
       * heartbeat) arrived for this long (default 45 s, three of the server's 15 s heartbeats).
       */
      idleTimeoutMs?: number;
      onWarning?: (warning: string) => void;
    } = {},
  ): Promise<void> {
    const s = await this.open();
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
        const cursor = await s.store.loadCursor();
        resetIdle();
        const response = await s.api.open("/api/v1/mailbox/stream", {
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
            const events = await this.locked(async (session) => {
              const collected: ClientEvent[] = [];
              const warnings: string[] = [];
              // Another process (a `mimi send`) may have synced past this item meanwhile.
              if (item.cursor <= (await session.store.loadCursor())) return collected;
              const joined = await this.handleItem(session, item, collected);
              await session.store.saveCursor(item.cursor);
              // Live, the next entry may never come by itself: fill a gap from the log at once.
              const channelUrl = idOf(item.activity.target) ?? idOf(item.activity.actor);
              const record = channelUrl ? await this.channelByUrl(session, channelUrl) : undefined;
              if (record?.status === "active" && hasGap(record.ahead, record.logSequence))
                await this.fillGap(session, record, collected, warnings);
              if (joined) await this.keys(session).topUpQuietly(warnings);
              for (const warning of warnings) options.onWarning?.(warning);
              return collected;
            });
            for (const event of events) onEvent(event);
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

  /**
   * Processes one delivered activity; returns true when it joined a channel. Whatever is about a
   * channel (its answers, forwards, a Welcome) counts only when the channel itself delivered it: the
   * home server says who signed each delivery, and nobody else may act on this client for a channel.
   */
  private async handleItem(s: AccountContext, item: MailboxItem, events: ClientEvent[]): Promise<boolean> {
    const activity = item.activity;
    const type = stringField(activity, "type");
    const id = stringField(activity, "id") ?? "(no id)";
    const skip = (reason: string) => {
      events.push({ type: "skipped", activityId: id, reason });
      return false;
    };
    if (type === "Accept" || type === "Reject") {
      const channelUrl = idOf(activity.actor);
      if (!channelUrl || item.deliveredBy !== channelUrl)
        return skip(`a ${type} from ${channelUrl ?? "nobody"} that the channel did not deliver itself`);
      await this.handleVerdict(s, activity, type, events);
      return false;
    }
    const channelUrl = idOf(activity.target);
    if (!channelUrl) return skip(`a ${type ?? "typeless"} activity without a channel`);
    if (item.deliveredBy !== channelUrl)
      return skip(
        `an activity about ${channelUrl} delivered by ${item.deliveredBy ?? "an unknown sender"}, not by the channel`,
      );
    const record = await this.channelByUrl(s, channelUrl);
    const welcome = activity["mimi:welcome"];
    if (type === "Add" && idOf(activity.object) === s.account.actor && welcome && record?.status !== "active")
      return this.join(s, activity, channelUrl, events);
    if (!record) return skip(`not a member of ${channelUrl}`);
    await this.receive(s, record, activity, events);
    return false;
  }

  /**
   * A forward of the channel: applied in the channel's order. One numbered `mimi:sequence` is applied
   * once the entries before it are; until then it waits (see channel-order.ts).
   */
  private async receive(s: AccountContext, record: ChannelRecord, activity: Activity, events: ClientEvent[]) {
    const sequence = numberField(activity, "mimi:sequence");
    if (sequence === undefined || record.status !== "active") {
      await this.handleChannelActivity(s, record, activity, events);
      return;
    }
    if (placeOf(sequence, record.logSequence) === "applied") return;
    record.ahead = withAhead(record.ahead ?? [], { sequence, activity }, record.logSequence);
    await this.applyWaiting(s, record, events);
  }

  /** Applies waiting entries while the next one is here; stops at a gap or at an entry to retry. */
  private async applyWaiting(s: AccountContext, record: ChannelRecord, events: ClientEvent[]) {
    for (;;) {
      const next = nextEntry(record.ahead ?? [], record.logSequence);
      if (!next) break;
      if (next.activity && record.status === "active") {
        const outcome = await this.handleChannelActivity(s, record, next.activity, events);
        if (outcome === "retry") break;
      }
      record.logSequence = next.sequence;
      record.ahead = pruned(record.ahead ?? [], record.logSequence);
    }
    if (record.status !== "active") delete record.ahead;
    await s.store.saveChannel(record);
  }

  /** One of our own submissions took `sequence` in the channel's log: nothing to apply there. */
  private async passOwnEntry(
    s: AccountContext,
    record: ChannelRecord,
    sequence: number,
    events: ClientEvent[],
  ) {
    if (record.status !== "active" || placeOf(sequence, record.logSequence) === "applied") return;
    record.ahead = withAhead(record.ahead ?? [], { sequence }, record.logSequence);
    await this.applyWaiting(s, record, events);
  }

  /**
   * An activity the channel forwarded (from the mailbox or from the channel's log). "retry" when it
   * could not be applied now and must not be passed over (a commit: every later entry depends on it).
   */
  private async handleChannelActivity(
    s: AccountContext,
    record: ChannelRecord,
    activity: Activity,
    events: ClientEvent[],
  ): Promise<"done" | "retry"> {
    const id = stringField(activity, "id");
    if (!id || record.seen.includes(id)) return "done";
    const type = stringField(activity, "type");
    const object = objectField(activity, "object");
    if (type === "Add" || type === "Remove") {
      const outcome = await this.handleCommit(s, record, activity, type, events);
      if (outcome === "retry") {
        await s.store.saveChannel(record);
        return "retry";
      }
    } else if (type === "Create" && object?.type === "PrivateMessage")
      await this.handleMessage(s, record, activity, events);
    else if (type === "Create" && object?.type === "Service") {
      if (record.createActivityId === id) await this.settleCreate(s, record, true, events, id);
    } else if (type === "Update" && object?.type === "Service" && typeof object.name === "string") {
      record.name = object.name;
      events.push({ type: "renamed", channel: summaryOf(record), name: object.name, by: actorOf(activity) });
    } else if (type === "Update" && object?.type === ROLE_TYPE) {
      const member = stringField(object, "mimi:member");
      const role = stringField(object, "mimi:role");
      if (member && (role === "admin" || role === "member"))
        events.push({
          type: "role-changed",
          channel: summaryOf(record),
          actor: member,
          role,
          by: actorOf(activity),
        });
      else events.push({ type: "skipped", activityId: id, reason: "a role change without a member or role" });
    } else {
      events.push({ type: "skipped", activityId: id, reason: `unhandled ${type ?? "typeless"} activity` });
    }
    record.seen.push(id);
    await s.store.saveChannel(record);
    return "done";
  }

  private async handleVerdict(
    s: AccountContext,
    activity: Activity,
    type: "Accept" | "Reject",
    events: ClientEvent[],
  ) {
    const channelUrl = idOf(activity.actor);
    const objectId = idOf(activity.object);
    const record = channelUrl ? await this.channelByUrl(s, channelUrl) : undefined;
    if (!record || !objectId) {
      events.push({
        type: "skipped",
        activityId: stringField(activity, "id") ?? "(no id)",
        reason: `${type} for an unknown channel`,
      });
      return;
    }
    const sequence = numberField(activity, "mimi:sequence");
    // Our accepted submission holds this place in the log; later entries may pass it.
    const passOwn = async () => {
      if (type === "Accept" && sequence !== undefined) await this.passOwnEntry(s, record, sequence, events);
    };
    const reason = stringField(activity, "summary") ?? "no reason given";
    if (record.createActivityId === objectId) {
      await this.settleCreate(s, record, type === "Accept", events, objectId, reason);
      await passOwn();
      return;
    }
    if (record.pending?.activityId === objectId) {
      if (type === "Accept") await this.mergePending(s, record, events);
      else await this.retryPending(s, record, reason, events);
      await passOwn();
      return;
    }
    const change = record.submitted?.find((submitted) => submitted.activityId === objectId);
    if (change) {
      record.submitted = record.submitted?.filter((submitted) => submitted !== change);
      // A refused rename was shown at once: the channel keeps its name.
      if (type === "Reject" && change.previousName !== undefined) record.name = change.previousName;
      events.push(
        type === "Accept"
          ? { type: "accepted", channel: summaryOf(record), activityId: objectId, what: change.what }
          : {
              type: "rejected",
              channel: summaryOf(record),
              activityId: objectId,
              what: change.what,
              reason,
              retried: false,
            },
      );
      await s.store.saveChannel(record);
      await passOwn();
      return;
    }
    // Our recent messages are listed as unanswered; only an answer to an older one needs the history.
    const waiting = record.unanswered?.indexOf(objectId) ?? -1;
    if (waiting >= 0) record.unanswered?.splice(waiting, 1);
    const ours =
      waiting >= 0 ||
      (await s.store.loadMessages(record.id)).some((m) => m.activityId === objectId && m.direction === "out");
    if (ours) {
      await s.store.setMessageStatus(record.id, objectId, type === "Accept" ? "accepted" : "rejected");
      if (type === "Reject")
        events.push({
          type: "rejected",
          channel: summaryOf(record),
          activityId: objectId,
          what: "message",
          reason,
          retried: false,
        });
    }
    await s.store.saveChannel(record);
    await passOwn();
  }

  private async settleCreate(
    s: AccountContext,
    record: ChannelRecord,
    accepted: boolean,
    events: ClientEvent[],
    activityId: string,
    reason = "",
  ) {
    delete record.createActivityId;
    record.status = accepted ? "active" : "failed";
    if (!accepted) record.note = reason;
    await s.store.saveChannel(record);
    events.push(
      accepted
        ? { type: "accepted", channel: summaryOf(record), activityId, what: "create", epoch: 0 }
        : {
            type: "rejected",
            channel: summaryOf(record),
            activityId,
            what: "create",
            reason,
            retried: false,
          },
    );
  }

  /** The channel accepted our commit: adopt the state prepared with it. */
  private async mergePending(s: AccountContext, record: ChannelRecord, events: ClientEvent[]) {
    const pending = record.pending as PendingChange;
    const decoded = decodeClientState(fromBase64(pending.newState), s.validateCredential);
    if (!decoded.ok) throw new Error(`stored pending state does not decode: ${decoded.detail}`);
    storeState(record, decoded.state);
    if (pending.kind === "add") record.actors[pending.acct] = pending.actor;
    delete record.pending;
    record.seen.push(pending.activityId);
    await s.store.saveChannel(record);
    events.push({
      type: "accepted",
      channel: summaryOf(record),
      activityId: pending.activityId,
      what: pending.kind,
      epoch: record.epoch,
    });
  }

  /**
   * The channel rejected our commit (usually: another commit won the epoch). Catch up from the
   * channel's log, rebuild the same change on the current epoch and submit it once more.
   */
  private async retryPending(
    s: AccountContext,
    record: ChannelRecord,
    reason: string,
    events: ClientEvent[],
  ) {
    const pending = record.pending as PendingChange;
    delete record.pending;
    const rejected = (retried: boolean, why = reason): ClientEvent => ({
      type: "rejected",
      channel: summaryOf(record),
      activityId: pending.activityId,
      what: pending.kind,
      reason: why,
      retried,
    });
    if (pending.attempts >= 2) {
      await s.store.saveChannel(record);
      events.push(rejected(false));
      return;
    }
    await this.catchUp(s, record, events);
    if (record.status !== "active" || !record.state) {
      await s.store.saveChannel(record);
      events.push(rejected(false));
      return;
    }
    const state = this.decodeState(s, record);
    let output: Awaited<ReturnType<typeof commit>> | undefined;
    let activity: Activity | undefined;
    if (pending.kind === "add") {
      const present = new Set(roster(state).map((m) => credentialNames(m.credential)?.clientId ?? ""));
      const keyPackages = pending.keyPackages
        .map((bytes) => readKeyPackageBytes(fromBase64(bytes)))
        .flatMap((read) => (read.ok ? [read.keyPackage] : []))
        .filter((kp) => !present.has(credentialNames(kp.leafNode.credential)?.clientId ?? ""));
      if (keyPackages.length > 0) {
        output = await commit(state, s.cs, { add: keyPackages });
        activity = addActivity(s.account.actor, record.url, pending.actor, output);
      }
    } else {
      const leaves = leavesOf(state, pending.acct);
      if (leaves.length > 0) {
        output = await commit(state, s.cs, { remove: leaves });
        activity = removeActivity(s.account.actor, record.url, pending.actor, output);
      }
    }
    if (!output || !activity) {
      // Someone else already made the same change: nothing is left to do.
      await s.store.saveChannel(record);
      events.push(rejected(false));
      return;
    }
    record.pending = {
      ...pending,
      activityId: activity.id as string,
      newState: toBase64(encodeClientState(output.newState)),
      newEpoch: Number(groupEpoch(output.newState)),
      attempts: pending.attempts + 1,
      submittedAt: s.now().toISOString(),
    };
    await s.store.saveChannel(record);
    try {
      await s.api.postActivity(s.account.username, activity);
      events.push(rejected(true));
    } catch (error) {
      delete record.pending;
      await s.store.saveChannel(record);
      events.push(rejected(false, `${reason}; resubmitting failed: ${errorText(error)}`));
    }
  }

  /**
   * Reads the channel's log (through the home server) after the last applied entry and applies it in
   * order, stopping at an entry that must be retried. Not re-entered for the same channel: a commit
   * from the future met while catching up waits for the log's own turn.
   */
  private async catchUp(s: AccountContext, record: ChannelRecord, events: ClientEvent[]) {
    if (this.catchingUp.has(record.id)) return;
    this.catchingUp.add(record.id);
    try {
      for (;;) {
        const page = await s.api.channelLog(record.url, record.logSequence);
        let advanced = false;
        for (const item of page.items) {
          if (item.sequence <= record.logSequence) continue;
          const own = (record.ahead ?? []).find(
            (entry) => entry.sequence === item.sequence && !entry.activity,
          );
          if (record.status === "active" && !own) {
            const outcome = await this.handleChannelActivity(s, record, item.activity, events);
            if (outcome === "retry") {
              await s.store.saveChannel(record);
              return;
            }
          }
          advanced = true;
          record.logSequence = item.sequence;
          record.ahead = pruned(record.ahead ?? [], record.logSequence);
        }
        if (record.status !== "active") delete record.ahead;
        await s.store.saveChannel(record);
        if (!advanced || page.next === null) break;
      }
      // Entries that waited for the gap may follow now.
      if (record.status === "active") await this.applyWaiting(s, record, events);
    } finally {
      this.catchingUp.delete(record.id);
    }
  }

  private async handleCommit(
    s: AccountContext,
    record: ChannelRecord,
    activity: Activity,
    type: "Add" | "Remove",
    events: ClientEvent[],
  ): Promise<"done" | "retry"> {
    const id = stringField(activity, "id") as string;
    if (record.status !== "active") return "done";
    if (record.pending?.activityId === id) {
      // The channel forwards only what it accepted: our own commit coming back means it won.
      await this.mergePending(s, record, events);
      return "done";
    }
    const object = idOf(activity.object) ?? "";
    const by = actorOf(activity);
    const wire = fromWireObject(activity["mimi:commit"], "PublicMessage");
    if (!wire.ok) {
      events.push({ type: "skipped", activityId: id, reason: `bad commit: ${wire.detail}` });
      return "done";
    }
    let state = this.decodeState(s, record);
    let processed = await processIncoming(state, s.cs, wire.bytes);
    if (!processed.ok && processed.reason === "futureEpoch" && !this.catchingUp.has(record.id)) {
      // We missed a commit: the log has it (and this one, which the catch-up then applies).
      await this.catchUp(s, record, events);
      if (record.status !== "active" || !record.state || record.seen.includes(id)) return "done";
      state = this.decodeState(s, record);
      processed = await processIncoming(state, s.cs, wire.bytes);
    }
    if (!processed.ok) {
      // An older epoch: already applied (our own commit, or applied during a catch-up).
      if (processed.reason === "staleEpoch") return "done";
      // Nothing is deleted for a commit that does not verify here (a credential check may fail
      // while another provider is unreachable): it is tried again, and the user is told.
      events.push({
        type: "skipped",
        activityId: id,
        reason: `cannot apply the ${type} commit yet (${processed.reason}: ${processed.detail}); it will be tried again`,
      });
      return "retry";
    }
    if (processed.kind !== "commit") return "done";
    if (processed.removedFromGroup) {
      this.markLeft(record, by, events);
      return "done";
    }
    storeState(record, processed.newState);
    if (type === "Add") {
      const accts = acctsAddedBy(wire.bytes);
      for (const acct of accts) record.actors[acct] = object;
      events.push({ type: "member-added", channel: summaryOf(record), actor: object, accts, by });
    } else {
      events.push({ type: "member-removed", channel: summaryOf(record), actor: object, by });
    }
    return "done";
  }

  private markLeft(record: ChannelRecord, by: string, events: ClientEvent[]) {
    record.status = "left";
    record.note = `removed by ${by}`;
    delete record.state;
    delete record.pending;
    events.push({ type: "left", channel: summaryOf(record), by });
  }

  private async handleMessage(
    s: AccountContext,
    record: ChannelRecord,
    activity: Activity,
    events: ClientEvent[],
  ) {
    const id = stringField(activity, "id") as string;
    if (record.status !== "active") return;
    const wire = fromWireObject(activity.object, "PrivateMessage");
    if (!wire.ok) {
      events.push({ type: "skipped", activityId: id, reason: `bad message: ${wire.detail}` });
      return;
    }
    let processed = await processIncoming(this.decodeState(s, record), s.cs, wire.bytes);
    if (!processed.ok && processed.reason === "futureEpoch" && !this.catchingUp.has(record.id)) {
      await this.catchUp(s, record, events);
      if (record.status !== "active" || !record.state || record.seen.includes(id)) return;
      processed = await processIncoming(this.decodeState(s, record), s.cs, wire.bytes);
    }
    if (!processed.ok || processed.kind !== "application") {
      events.push({
        type: "skipped",
        activityId: id,
        reason: processed.ok ? "not an application message" : `cannot decrypt: ${processed.detail}`,
      });
      return;
    }
    storeState(record, processed.newState);
    const content = parseContent(processed.data);
    if (!content.ok || content.content.roomUri !== record.url) {
      events.push({
        type: "skipped",
        activityId: id,
        reason: content.ok ? "the message names another channel" : content.detail,
      });
      return;
    }
    // The sender is the member whose signature MLS verified, whatever the plaintext claims.
    const sender = credentialNames(processed.sender.credential)?.acct;
    if (sender === undefined) {
      events.push({ type: "skipped", activityId: id, reason: "the sender's credential names no account" });
      return;
    }
    if (content.content.senderUri !== sender) {
      events.push({
        type: "skipped",
        activityId: id,
        reason: `a message claiming to come from ${handleOfAcct(content.content.senderUri)} was sent by ${handleOfAcct(sender)}; not shown`,
      });
      return;
    }
    const message: StoredMessage = {
      id: content.content.id,
      activityId: id,
      channelId: record.id,
      senderUri: sender,
      actor: record.actors[sender] ?? actorOf(activity),
      timestamp: content.content.timestamp,
      receivedAt: s.now().toISOString(),
      contentType: content.content.contentType,
      content: content.content.content,
      ...(content.content.inReplyTo ? { inReplyTo: content.content.inReplyTo } : {}),
      direction: "in",
      epoch: record.epoch,
    };
    await s.store.appendMessage(record.id, message);
    events.push({ type: "message", channel: summaryOf(record), message });
  }

  /** An Add naming us with a Welcome: join with whichever of our KeyPackages it was made for. */
  private async join(
    s: AccountContext,
    activity: Activity,
    channelUrl: string,
    events: ClientEvent[],
  ): Promise<boolean> {
    const id = stringField(activity, "id") ?? "(no id)";
    const channelId = channelIdOfUrl(channelUrl);
    const wire = fromWireObject(activity["mimi:welcome"], "Welcome");
    const device = await s.store.loadDevice();
    if (!channelId || !wire.ok || !device) {
      const reason = !device
        ? "no device registered here"
        : !wire.ok
          ? `bad Welcome: ${wire.detail}`
          : "bad channel URL";
      events.push({ type: "skipped", activityId: id, reason });
      return false;
    }
    const joined = await this.keys(s).openWelcome(device, wire.bytes);
    if (!joined) {
      events.push({
        type: "skipped",
        activityId: id,
        reason: "the Welcome is for none of this device's KeyPackages",
      });
      return false;
    }
    if (Buffer.from(groupIdOf(joined.state)).toString("base64url") !== channelId) {
      events.push({
        type: "skipped",
        activityId: id,
        reason: "the Welcome's group is not the channel it names",
      });
      return false;
    }
    const record: ChannelRecord = {
      id: channelId,
      url: channelUrl,
      name: channelId,
      status: "active",
      epoch: 0,
      createdAt: s.now().toISOString(),
      actors: { [s.account.acct]: s.account.actor },
      logSequence: 0,
      seen: [id],
    };
    storeState(record, joined.state);
    const commitWire = fromWireObject(activity["mimi:commit"], "PublicMessage");
    if (commitWire.ok)
      for (const acct of acctsAddedBy(commitWire.bytes)) record.actors[acct] = s.account.actor;
    // The channel's server must know this Add: its log holds it, at the epoch the Welcome puts us in.
    const entry = await this.readHistory(s, record, id);
    if (entry === undefined || entry.epoch !== record.epoch) {
      events.push({
        type: "skipped",
        activityId: id,
        reason:
          entry === undefined
            ? "the channel's server does not confirm this Welcome (its log has no such Add)"
            : `the channel's server logged this Add at epoch ${entry.epoch}, not ${record.epoch}`,
      });
      return false;
    }
    await this.keys(s).consume(device, joined.used);
    await s.store.saveChannel(record);
    events.push({ type: "joined", channel: summaryOf(record), by: actorOf(activity) });
    return true;
  }

  /**
   * Before joining: the channel's log, read through the home server up to the Add that welcomed us,
   * confirms the Add and gives the channel's name and its members' actor URLs (later entries arrive
   * through the mailbox). Returns the Add's log entry, or undefined when the log does not have it or
   * the channel's server refuses to show it. A read that may pass later (unreachable, 5xx) throws, so
   * the delivery is processed again on the next sync.
   */
  private async readHistory(
    s: AccountContext,
    record: ChannelRecord,
    welcomeActivityId: string,
  ): Promise<ChannelLogItem | undefined> {
    let after = 0;
    for (;;) {
      let page: Awaited<ReturnType<ProviderApi["channelLog"]>>;
      try {
        page = await s.api.channelLog(record.url, after);
      } catch (error) {
        if (error instanceof MimiApiError && error.status >= 400 && error.status < 500) return undefined;
        throw error;
      }
      for (const item of page.items) {
        if (item.sequence <= after) continue;
        after = item.sequence;
        const activity = item.activity;
        const type = stringField(activity, "type");
        const object = objectField(activity, "object");
        if (
          (type === "Create" || type === "Update") &&
          object?.type === "Service" &&
          typeof object.name === "string"
        )
          record.name = object.name;
        if (type === "Create" && object?.type === "Service") {
          const groupInfo = fromWireObject(activity["mimi:groupInfo"], "GroupInfo");
          const creator = groupInfo.ok ? await groupInfoSignerAcct(groupInfo.bytes) : undefined;
          if (creator) record.actors[creator] ??= actorOf(activity);
        }
        if (type === "Add") {
          const commitWire = fromWireObject(activity["mimi:commit"], "PublicMessage");
          const added = idOf(activity.object);
          if (commitWire.ok && added)
            for (const acct of acctsAddedBy(commitWire.bytes)) record.actors[acct] = added;
        }
        if (stringField(activity, "id") === welcomeActivityId) {
          record.logSequence = item.sequence;
          return item;
        }
      }
      if (page.items.length === 0 || page.next === null) return undefined;
    }
  }

  private async channelByUrl(s: AccountContext, url: string): Promise<ChannelRecord | undefined> {
    return (await ConversationSession.byUrl(s, url))?.record;
  }

  private decodeState(s: AccountContext, record: ChannelRecord): ClientState {
    if (!record.state) throw new MimiClientError(`no group state for ${record.name}`);
    const decoded = decodeClientState(fromBase64(record.state), s.validateCredential);
    if (!decoded.ok) throw new Error(`the stored state of ${record.name} does not decode: ${decoded.detail}`);
    return decoded.state;
  }
}

function storeState(record: ChannelRecord, state: ClientState) {
  record.state = toBase64(encodeClientState(state));
  record.epoch = Number(groupEpoch(state));
}

function summaryOf(record: ChannelRecord): ChannelSummary {
  return {
    id: record.id,
    url: record.url,
    name: record.name,
    status: record.status,
    epoch: record.epoch,
    waiting: record.pending !== undefined || record.createActivityId !== undefined,
    ...(record.note ? { note: record.note } : {}),
  };
}

function actorOf(activity: Activity): string {
  return idOf(activity.actor) ?? "(unknown actor)";
}

function silentFor(idleTimeoutMs: number): string {
  return `mailbox stream silent for ${(idleTimeoutMs / 1000).toFixed(1)} s; reconnecting`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
