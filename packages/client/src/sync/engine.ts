import {
  type Activity,
  actorIdOf,
  type CommitType,
  channelEntryOf,
  idOf,
  numberField,
  stringField,
} from "../activities.js";
import type { MailboxItem } from "../api.js";
import type { ClientEvent, SyncResult } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { type Applied, applyCommit } from "../conversation/commits.js";
import { answerToLeave, applyLeaveEntry, isLeave } from "../conversation/departures.js";
import { receiveMessage } from "../conversation/messages.js";
import { ConversationSession } from "../conversation/session.js";
import { noteChannelToJoin, settleDeviceJoin, settleJoinByForward } from "../device/channel-joins.js";
import type { DeviceKeys } from "../device/device-keys.js";
import { checkDmEnvelope, checkDmSender } from "../dm/activities.js";
import { keepEarly, takeEarly } from "../dm/early-messages.js";
import { knownDmGroup } from "../dm/groups.js";
import { errorText } from "../errors.js";
import type { ChannelOrder } from "./channel-order-port.js";
import { checkDelivery, isWelcomeFor } from "./delivery.js";
import { joinChannel } from "./join.js";
import { logHoleReason, rejoin, rejoinIfUnusable, rejoining, rejoinWhereStateIsLost } from "./rejoin.js";
import { applyVerdict } from "./verdicts.js";

export const MAILBOX_PAGE = 100;

/** While listening, how long after its last try a channel left out of sync is tried again by itself. */
export const OUT_OF_SYNC_RETRY_MS = 15_000;

/**
 * Processes what the home server delivers: the mailbox after the stored cursor, item by item, under
 * the trust rule of `delivery.ts`, and each channel's entries in the channel's order, whatever the
 * mailbox does. The channel numbers every entry (`mimi:sequence`); entry n+1 is applied only after
 * entry n. Entries that arrive early wait in the conversation's record; a gap the mailbox does not
 * fill is read from the channel's log (through the home server). So a delivery lost or reordered on
 * the way never costs a message its keys. Callers hold the account's lock.
 */
export class SyncEngine implements ChannelOrder {
  /** Channels whose log is being applied right now (a catch-up is not re-entered). */
  private readonly catchingUp = new Set<string>();
  /** Entries that did not apply in the current sync (or live item): each is tried once per round. */
  private readonly failedThisRound = new Set<string>();

  constructor(
    private readonly ctx: AccountContext,
    private readonly keys: DeviceKeys,
  ) {}

  /** Reads the mailbox after the stored cursor and processes every activity in order. */
  async sync(): Promise<SyncResult> {
    const { api, store } = this.ctx;
    const result: SyncResult = { processed: 0, cursor: await store.loadCursor(), events: [], warnings: [] };
    this.failedThisRound.clear();
    // A channel whose state is lost cannot take its entries: it joins again first.
    await rejoinWhereStateIsLost(this.ctx, this.keys, await ConversationSession.all(this.ctx), result.events);
    let joined = false;
    // A short page does not mean the end: the server may cap a page by bytes as well as by items.
    // Only an empty page (or one that moves the cursor no further) does.
    for (;;) {
      const before = result.cursor;
      const page = await api.mailbox(result.cursor, MAILBOX_PAGE);
      for (const item of page.items) {
        if (item.cursor <= result.cursor) continue;
        joined = (await this.handleItem(item, result.events)) || joined;
        result.cursor = item.cursor;
        result.processed += 1;
        await store.saveCursor(result.cursor);
      }
      if (result.cursor === before) break;
    }
    await this.takeEarlyDms(result.events);
    // Entries still waiting once the whole mailbox was read were not delivered (yet): the log has
    // them. An entry that did not apply before (a commit whose check failed for now) is tried again.
    for (const session of await ConversationSession.all(this.ctx)) {
      if (session.needsCatchUp() && !this.failedNow(session))
        await this.fillGap(session, result.events, result.warnings);
    }
    if (joined) await this.keys.topUpQuietly(result.warnings);
    return result;
  }

  /** One item from the live stream, processed as `sync` would. */
  async receiveLive(item: MailboxItem): Promise<{ events: ClientEvent[]; warnings: string[] }> {
    const events: ClientEvent[] = [];
    const warnings: string[] = [];
    this.failedThisRound.clear();
    // Another process (a `mimi send`) may have synced past this item meanwhile.
    if (item.cursor <= (await this.ctx.store.loadCursor())) return { events, warnings };
    const joined = await this.handleItem(item, events);
    await this.ctx.store.saveCursor(item.cursor);
    if (joined) await this.takeEarlyDms(events);
    // Live, the next entry may never come by itself: fill a gap from the log at once.
    const channelUrl = idOf(item.activity.target) ?? idOf(item.activity.actor);
    const session = channelUrl ? await ConversationSession.byUrl(this.ctx, channelUrl) : undefined;
    if (session?.needsCatchUp() && !this.failedNow(session)) await this.fillGap(session, events, warnings);
    if (joined) await this.keys.topUpQuietly(warnings);
    return { events, warnings };
  }

  /**
   * While listening, nothing may arrive for a channel left behind for a long time: every channel out
   * of sync and not tried for `OUT_OF_SYNC_RETRY_MS` is tried again (from its log).
   */
  async retryDue(): Promise<{ events: ClientEvent[]; warnings: string[] }> {
    const events: ClientEvent[] = [];
    const warnings: string[] = [];
    this.failedThisRound.clear();
    for (const session of await ConversationSession.all(this.ctx)) {
      if (this.dueForRetry(session)) await this.fillGap(session, events, warnings);
    }
    return { events, warnings };
  }

  /** The entry that kept `session` behind did not apply in this round already. */
  private failedNow(session: ConversationSession, activityId?: string): boolean {
    const waiting = session.record.outOfSync?.activityId;
    return (
      waiting !== undefined &&
      (activityId === undefined || activityId === waiting) &&
      this.failedThisRound.has(waiting)
    );
  }

  /** Out of sync and not tried for `OUT_OF_SYNC_RETRY_MS`. */
  private dueForRetry(session: ConversationSession): boolean {
    const outOfSync = session.record.outOfSync;
    if (!session.active || !outOfSync) return false;
    return this.ctx.now().getTime() - Date.parse(outOfSync.triedAt) >= OUT_OF_SYNC_RETRY_MS;
  }

  /** Processes one delivered activity; returns true when it joined a channel. */
  private async handleItem(item: MailboxItem, events: ClientEvent[]): Promise<boolean> {
    const activity = item.activity;
    const id = stringField(activity, "id") ?? "(no id)";
    const delivery = checkDelivery(item);
    if (delivery.kind === "refused") {
      events.push({ type: "skipped", activityId: id, reason: delivery.reason });
      return false;
    }
    if (delivery.kind === "verdict") {
      if (await settleDeviceJoin(this, this.ctx, this.keys, activity, delivery.type, events)) return false;
      if (await answerToLeave(this.ctx, delivery.channelUrl, activity, delivery.type, events)) return false;
      await applyVerdict(this, this.ctx, delivery.channelUrl, activity, delivery.type, events);
      return false;
    }
    if (delivery.kind === "dm") {
      await this.dmEntry(item, delivery.groupUrl, events);
      return false;
    }
    const session = await ConversationSession.byUrl(this.ctx, delivery.channelUrl);
    if (isWelcomeFor(activity, this.ctx.account.actor) && session?.record.status !== "active")
      return joinChannel(this.ctx, this.keys, activity, delivery.channelUrl, events);
    if (!session) {
      // Our own join, forwarded: the channel accepted it.
      if (await settleJoinByForward(this, this.ctx, this.keys, delivery.channelUrl, activity, events))
        return false;
      // A channel of the user this device holds nothing of (it is new): joined by external commit later.
      if (await noteChannelToJoin(this.ctx, delivery.channelUrl)) return false;
      events.push({ type: "skipped", activityId: id, reason: `not a member of ${delivery.channelUrl}` });
      return false;
    }
    if (session.record.outOfSync && (await rejoining(this.ctx, delivery.channelUrl))) {
      // Joining again: only our join's forward matters; the entries before it are not for the new leaf.
      await settleJoinByForward(this, this.ctx, this.keys, delivery.channelUrl, activity, events);
      return false;
    }
    try {
      await this.receive(session, activity, events);
    } catch (error) {
      if (!(await rejoinIfUnusable(this.ctx, this.keys, session, events))) throw error;
    }
    return false;
  }

  /**
   * A forward of the channel: applied in the channel's order. One numbered `mimi:sequence` is applied
   * once the entries before it are; until then it waits (see channel-order.ts).
   */
  private async receive(session: ConversationSession, activity: Activity, events: ClientEvent[]) {
    const sequence = numberField(activity, "mimi:sequence");
    if (sequence === undefined || !session.active) {
      await this.applyEntry(session, activity, events);
      return;
    }
    if (!session.admit({ sequence, activity })) return;
    await this.applyWaiting(session, events);
  }

  /** Applies waiting entries while the next one is here; stops at a gap or at an entry to retry. */
  private async applyWaiting(session: ConversationSession, events: ClientEvent[]) {
    for (;;) {
      const next = session.nextWaiting();
      if (!next) break;
      // The entry that did not apply this round waits for the next one; so do the entries after it.
      if (next.activity && this.failedNow(session, stringField(next.activity, "id"))) break;
      if (next.activity && session.active) {
        const outcome = await this.applyEntry(session, next.activity, events);
        if (outcome === "retry") break;
      }
      session.advanceTo(next.sequence);
    }
    session.dropWaitingUnlessActive();
    await session.save();
  }

  /** One of our own submissions took `sequence` in the channel's log: nothing to apply there. */
  async passOwnEntry(session: ConversationSession, sequence: number, events: ClientEvent[]): Promise<void> {
    if (!session.active || !session.admit({ sequence })) return;
    await this.applyWaiting(session, events);
  }

  /**
   * An activity the channel forwarded (from the mailbox or from the channel's log). "retry" when it
   * could not be applied now and must not be passed over (a commit: every later entry depends on it).
   */
  private async applyEntry(
    session: ConversationSession,
    activity: Activity,
    events: ClientEvent[],
  ): Promise<Applied> {
    const id = stringField(activity, "id");
    if (!id) return "done";
    const entry = channelEntryOf(activity);
    if (session.hasSeen(id)) {
      // Our own rename was shown when we sent it; in its turn in the log it is the name again, so an
      // entry logged before it cannot leave an older name standing.
      if (entry.kind === "renamed") {
        session.record.name = entry.name;
        await session.save();
      }
      return "done";
    }
    switch (entry.kind) {
      case "commit":
        if ((await this.commitEntry(session, id, activity, entry.type, events)) === "retry") {
          this.failedThisRound.add(id);
          await session.save();
          return "retry";
        }
        break;
      case "message":
        await this.messageEntry(session, id, activity, events);
        break;
      case "created":
        if (session.record.createActivityId === id) await session.settleCreate(true, id, "", events);
        break;
      case "renamed":
        session.record.name = entry.name;
        events.push({
          type: "renamed",
          channel: session.summary(),
          name: entry.name,
          by: actorIdOf(activity),
        });
        break;
      case "role":
        events.push({
          type: "role-changed",
          channel: session.summary(),
          actor: entry.member,
          role: entry.role,
          by: actorIdOf(activity),
        });
        break;
      case "unusable":
        // A member leaving (Leave has no commit: a remaining member commits the Remove).
        if (isLeave(activity)) applyLeaveEntry(session, activity, events);
        else events.push(session.skipped(id, entry.reason));
        break;
    }
    session.markSeen(id);
    await session.save();
    return "done";
  }

  private async commitEntry(
    session: ConversationSession,
    id: string,
    activity: Activity,
    type: CommitType,
    events: ClientEvent[],
  ): Promise<Applied> {
    const outcome = await applyCommit(session, activity, type, events, !this.catchingUp.has(session.id));
    if (outcome !== "behind") return outcome;
    // We missed a commit: the log has it (and this one, which the catch-up then applies).
    await this.catchUp(session, events);
    if (!this.stillToApply(session, id)) return "done";
    return applyCommit(session, activity, type, events, false);
  }

  private async messageEntry(
    session: ConversationSession,
    id: string,
    activity: Activity,
    events: ClientEvent[],
  ) {
    const outcome = await receiveMessage(session, activity, events, !this.catchingUp.has(session.id));
    if (outcome !== "behind") return;
    // A message from a later epoch: the commits we missed are in the log.
    await this.catchUp(session, events);
    if (this.stillToApply(session, id)) await receiveMessage(session, activity, events, false);
  }

  /**
   * A group DM's message, under section 14.8: the envelope is checked against the DM group this
   * device holds (an Add it has not seen yet is read from the group's log first), the sender after
   * decrypting against the MLS credential. Messages carry no `mimi:sequence`: each is taken as it
   * comes, a later epoch after reading the commits it needs from the log.
   */
  private async dmEntry(item: MailboxItem, groupUrl: string, events: ClientEvent[]) {
    const activity = item.activity;
    const id = stringField(activity, "id") ?? "(no id)";
    const session = await ConversationSession.byUrl(this.ctx, groupUrl);
    if (!session) {
      // Its group's Welcome may still be on its way (it comes from the group's host): kept till then.
      await keepEarly(this.ctx.store, groupUrl, item, this.ctx.now());
      return;
    }
    if (!session.record.dm || !session.active) {
      events.push({
        type: "skipped",
        activityId: id,
        reason: `a DM message for ${groupUrl}, which we do not hold`,
      });
      return;
    }
    if (session.hasSeen(id)) return;
    const groupOf = () => knownDmGroup(session.record);
    let envelope = checkDmEnvelope(activity, item.deliveredBy, groupOf);
    if (!envelope.ok && groupOf() === undefined) {
      await this.catchUp(session, events);
      envelope = checkDmEnvelope(activity, item.deliveredBy, groupOf);
    }
    if (!envelope.ok) {
      events.push(session.skipped(id, envelope.reason));
      return;
    }
    const { group, actor } = envelope;
    const senderCheck = (sender: string) => {
      const checked = checkDmSender(group, actor, sender);
      return checked.ok ? undefined : checked.reason;
    };
    const outcome = await receiveMessage(session, activity, events, true, senderCheck);
    if (outcome === "behind") {
      await this.catchUp(session, events);
      if (this.stillToApply(session, id)) await receiveMessage(session, activity, events, false, senderCheck);
    }
    session.markSeen(id);
    await session.save();
  }

  /** DM messages that came before their group's Welcome, taken now that this device holds the group. */
  private async takeEarlyDms(events: ClientEvent[]) {
    const holds = async (url: string) => (await ConversationSession.byUrl(this.ctx, url)) !== undefined;
    for (const early of await takeEarly(this.ctx.store, holds, this.ctx.now()))
      await this.dmEntry(early.item, early.groupUrl, events);
  }

  /** After a catch-up: the conversation is still ours and the catch-up did not apply this entry. */
  private stillToApply(session: ConversationSession, activityId: string): boolean {
    return session.active && session.record.state !== undefined && !session.hasSeen(activityId);
  }

  /**
   * Reads the channel's log (through the home server) after the last applied entry and applies it in
   * order, stopping at an entry that must be retried. Not re-entered for the same channel: a commit
   * from the future met while catching up waits for the log's own turn.
   */
  async catchUp(session: ConversationSession, events: ClientEvent[]): Promise<void> {
    if (this.catchingUp.has(session.id)) return;
    if (session.record.outOfSync && (await rejoining(this.ctx, session.record.url))) return;
    this.catchingUp.add(session.id);
    try {
      for (;;) {
        const page = await this.ctx.api.channelLog(session.record.url, session.record.logSequence);
        const hole = session.active ? logHoleReason(session.record.logSequence, page) : undefined;
        if (hole !== undefined) {
          // The log cannot replay what this device missed: it joins again instead.
          await rejoin(this.ctx, this.keys, session, hole, events);
          return;
        }
        let advanced = false;
        for (const item of page.items) {
          if (item.sequence <= session.record.logSequence) continue;
          if (session.active) {
            const outcome = this.failedNow(session, stringField(item.activity, "id"))
              ? "retry"
              : await this.applyEntry(session, item.activity, events);
            if (outcome === "retry") {
              await session.save();
              return;
            }
          }
          advanced = true;
          session.advanceTo(item.sequence);
        }
        session.dropWaitingUnlessActive();
        await session.save();
        if (!advanced || page.next === null) break;
      }
      // Entries that waited for the gap may follow now.
      if (session.active) await this.applyWaiting(session, events);
    } finally {
      this.catchingUp.delete(session.id);
    }
  }

  /** Applies the log after the last applied entry; a log that cannot be read now is tried on the next sync. */
  private async fillGap(session: ConversationSession, events: ClientEvent[], warnings: string[]) {
    // A rejoin waits for the channel's answer: the channel stays out of sync until then.
    if (session.record.outOfSync && (await rejoining(this.ctx, session.record.url))) return;
    try {
      await this.catchUp(session, events);
      // The log was read: what remains out of sync (if anything) is an entry that did not apply.
      if (session.record.outOfSync && session.record.outOfSync.activityId === undefined) {
        session.backInSync();
        await session.save();
      }
    } catch (error) {
      if (await rejoinIfUnusable(this.ctx, this.keys, session, events)) return;
      const why = `entries after ${session.record.logSequence} are missing and the channel's log could not be read: ${errorText(error)}`;
      warnings.push(`${session.record.name}: ${why}`);
      // An entry that did not apply stays the reason; otherwise the unread log is.
      const known = session.record.outOfSync;
      if (known?.activityId) session.markOutOfSync(known.reason, known.activityId);
      else session.markOutOfSync(why);
      await session.save();
    }
  }
}
