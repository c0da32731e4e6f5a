import { type ClientState, decodeClientState, encodeClientState, groupEpoch } from "@mimi/mls";
import type { ChannelRecord, PendingChange, StoredMessage } from "../account-store.js";
import type { Activity } from "../activities.js";
import { type AheadEntry, hasGap, nextEntry, placeOf, pruned, withAhead } from "../channel-order.js";
import type { ChannelSummary, ClientEvent, SubmittedChange } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { errorText, MimiClientError } from "../errors.js";
import { channelIdOfUrl, fromBase64, toBase64 } from "../mls-wire.js";

type Submitted = NonNullable<ChannelRecord["submitted"]>[number];

/**
 * One conversation as this device takes part in it: the channel's record on disk, its MLS group
 * state, the change we submitted and wait for, and where we stand in the channel's order. Loaded
 * fresh under the account's lock by every operation and never kept across operations; `save` writes
 * the record. Commits and messages are built and read in `commits.ts` and `messages.ts`.
 */
export class ConversationSession {
  constructor(
    readonly ctx: AccountContext,
    readonly record: ChannelRecord,
  ) {}

  static async load(ctx: AccountContext, id: string): Promise<ConversationSession | undefined> {
    const record = await ctx.store.loadChannel(id);
    return record ? new ConversationSession(ctx, record) : undefined;
  }

  /** The conversation at `url`: the record stored under the URL's id, and only if it is that very URL. */
  static async byUrl(ctx: AccountContext, url: string): Promise<ConversationSession | undefined> {
    const id = channelIdOfUrl(url);
    if (!id) return undefined;
    const session = await ConversationSession.load(ctx, id);
    return session?.record.url === url ? session : undefined;
  }

  static async all(ctx: AccountContext): Promise<ConversationSession[]> {
    return (await ctx.store.listChannels()).map((record) => new ConversationSession(ctx, record));
  }

  get id(): string {
    return this.record.id;
  }

  get active(): boolean {
    return this.record.status === "active";
  }

  summary(): ChannelSummary {
    return summaryOf(this.record);
  }

  save(): Promise<void> {
    return this.ctx.store.saveChannel(this.record);
  }

  /** Submits one of our activities to the channel, through the home server's outbox. */
  async post(activity: Activity): Promise<void> {
    await this.ctx.api.postActivity(this.ctx.account.username, activity);
  }

  /** Submits our message; one the outbox did not take is stored as rejected, and the error thrown. */
  async postMessage(activity: Activity, message: StoredMessage): Promise<StoredMessage> {
    try {
      await this.post(activity);
    } catch (error) {
      message.status = "rejected";
      await this.ctx.store.setMessageStatus(this.id, message.activityId, "rejected");
      throw error;
    }
    return message;
  }

  // ---------------------------------------------------------------------------------------------
  // MLS state
  // ---------------------------------------------------------------------------------------------

  state(): ClientState {
    const stored = this.decodeStoredState();
    if (stored.ok) return stored.state;
    if (stored.missing) throw new MimiClientError(`no group state for ${this.record.name}`);
    throw new Error(`the stored state of ${this.record.name} does not decode: ${stored.detail}`);
  }

  /** The state if it is there and decodes; a lost or broken one is found, and rejoined, where it is applied. */
  usableState(): ClientState | undefined {
    const stored = this.decodeStoredState();
    return stored.ok ? stored.state : undefined;
  }

  private decodeStoredState():
    | { ok: true; state: ClientState }
    | { ok: false; missing: boolean; detail: string } {
    if (!this.record.state) return { ok: false, missing: true, detail: "no state" };
    try {
      const decoded = decodeClientState(fromBase64(this.record.state), this.ctx.validateCredential);
      return decoded.ok ? decoded : { ok: false, missing: false, detail: decoded.detail };
    } catch (error) {
      return { ok: false, missing: false, detail: errorText(error) };
    }
  }

  adopt(state: ClientState): void {
    this.record.state = toBase64(encodeClientState(state));
    this.record.epoch = Number(groupEpoch(state));
  }

  /** Handled already (from the mailbox or from the log): an activity is handled once. */
  hasSeen(activityId: string): boolean {
    return this.record.seen.includes(activityId);
  }

  markSeen(activityId: string): void {
    this.record.seen.push(activityId);
  }

  /** One more message sent or received on our current leaf keys (see key-updates.ts). */
  countMessage(): void {
    const last = this.record.keyUpdate ?? { at: this.record.createdAt, messages: 0 };
    this.record.keyUpdate = { ...last, messages: last.messages + 1 };
  }

  /** The event for an activity of this conversation that was not used, with the reason. */
  skipped(activityId: string, reason: string): ClientEvent {
    return { type: "skipped", activityId, reason, channel: this.summary() };
  }

  // ---------------------------------------------------------------------------------------------
  // Out of sync: an entry that must apply before any later one did not (yet)
  // ---------------------------------------------------------------------------------------------

  /** Records why this device is behind the channel; `since` stays that of the first failure. */
  markOutOfSync(reason: string, activityId?: string): void {
    const now = this.ctx.now().toISOString();
    const known = this.record.outOfSync;
    const since = known && known.activityId === activityId ? known.since : now;
    this.record.outOfSync = { reason, ...(activityId ? { activityId } : {}), since, triedAt: now };
  }

  /**
   * The entry that kept us behind applied (or, without `activityId`, whatever kept us behind is
   * over): the channel is in sync again.
   */
  backInSync(activityId?: string): void {
    const known = this.record.outOfSync;
    if (known && (activityId === undefined || known.activityId === activityId)) delete this.record.outOfSync;
  }

  /** Whether the channel's log should be read now: entries wait for a gap, or an entry did not apply. */
  needsCatchUp(): boolean {
    return this.hasGap() || (this.active && this.record.outOfSync !== undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // The channel's order (channel-order.ts): entry n+1 is applied only after entry n.
  // ---------------------------------------------------------------------------------------------

  /** Keeps an entry until its turn; false when its place is applied already. */
  admit(entry: AheadEntry): boolean {
    if (placeOf(entry.sequence, this.record.logSequence) === "applied") return false;
    this.record.ahead = withAhead(this.record.ahead ?? [], entry, this.record.logSequence);
    return true;
  }

  /** The waiting entry whose turn it is, if it is here. */
  nextWaiting(): AheadEntry | undefined {
    return nextEntry(this.record.ahead ?? [], this.record.logSequence);
  }

  /** Entry `sequence` is applied (or was ours): everything up to it is done. */
  advanceTo(sequence: number): void {
    this.record.logSequence = sequence;
    this.record.ahead = pruned(this.record.ahead ?? [], this.record.logSequence);
  }

  /** Entries wait for one that has not arrived: the channel's log must fill the gap. */
  hasGap(): boolean {
    return this.active && hasGap(this.record.ahead, this.record.logSequence);
  }

  /** A conversation no longer active applies nothing: what waited is dropped. */
  dropWaitingUnlessActive(): void {
    if (!this.active) delete this.record.ahead;
  }

  // ---------------------------------------------------------------------------------------------
  // What we submitted, and the channel's answers
  // ---------------------------------------------------------------------------------------------

  /** Submits our channel creation; if it cannot be posted, the channel is marked failed. */
  async submitCreate(activity: Activity): Promise<void> {
    await this.save();
    try {
      await this.post(activity);
    } catch (error) {
      this.record.status = "failed";
      this.record.note = errorText(error);
      delete this.record.createActivityId;
      await this.save();
      throw error;
    }
  }

  /** Submits the commit prepared in `record.pending`; if it cannot be posted, nothing waits for it. */
  async submitPending(activity: Activity): Promise<SubmittedChange> {
    const pending = this.record.pending as PendingChange;
    await this.save();
    try {
      await this.post(activity);
    } catch (error) {
      delete this.record.pending;
      await this.save();
      throw error;
    }
    return { channel: this.summary(), activityId: pending.activityId, epoch: pending.newEpoch };
  }

  /** A rename or role change we submitted: its answer is matched by `takeSubmitted`. */
  awaitAnswer(submitted: Submitted): void {
    this.markSeen(submitted.activityId);
    this.record.submitted = [...(this.record.submitted ?? []), submitted];
  }

  /** The rename or role change an answer is for, no longer waiting. */
  takeSubmitted(activityId: string): Submitted | undefined {
    const change = this.record.submitted?.find((submitted) => submitted.activityId === activityId);
    if (change) this.record.submitted = this.record.submitted?.filter((submitted) => submitted !== change);
    return change;
  }

  /** Whether `activityId` is one of our recent unanswered messages (it no longer waits). */
  takeUnanswered(activityId: string): boolean {
    const waiting = this.record.unanswered?.indexOf(activityId) ?? -1;
    if (waiting >= 0) this.record.unanswered?.splice(waiting, 1);
    return waiting >= 0;
  }

  /** The channel answered our creation: it is active, or failed with the reason. */
  async settleCreate(accepted: boolean, activityId: string, reason: string, events: ClientEvent[]) {
    const record = this.record;
    delete record.createActivityId;
    record.status = accepted ? "active" : "failed";
    if (!accepted) record.note = reason;
    await this.save();
    events.push(
      accepted
        ? { type: "accepted", channel: this.summary(), activityId, what: "create", epoch: 0 }
        : {
            type: "rejected",
            channel: this.summary(),
            activityId,
            what: "create",
            reason,
            retried: false,
          },
    );
  }

  /** The channel accepted our commit: adopt the state prepared with it. */
  async mergePending(events: ClientEvent[]): Promise<void> {
    const record = this.record;
    const pending = record.pending as PendingChange;
    const decoded = decodeClientState(fromBase64(pending.newState), this.ctx.validateCredential);
    if (!decoded.ok) throw new Error(`stored pending state does not decode: ${decoded.detail}`);
    this.adopt(decoded.state);
    if (pending.kind === "add") record.actors[pending.acct] = pending.actor;
    if (pending.kind === "update") record.keyUpdate = { at: this.ctx.now().toISOString(), messages: 0 };
    delete record.pending;
    this.markSeen(pending.activityId);
    await this.save();
    events.push({
      type: "accepted",
      channel: this.summary(),
      activityId: pending.activityId,
      what: pending.kind,
      epoch: record.epoch,
    });
  }

  /**
   * A group that is not what it must be any more (a DM group whose host let in a non-participant):
   * its MLS state is deleted, nothing is sent or decrypted in it, and the user is told why.
   */
  abandon(activityId: string, reason: string, events: ClientEvent[]): void {
    const record = this.record;
    record.status = "failed";
    record.note = reason;
    delete record.state;
    delete record.pending;
    events.push(this.skipped(activityId, `${reason}: this group is not used any more`));
  }

  /** A commit that verified removed us: the MLS state is deleted and nothing is decrypted after it. */
  markLeft(by: string, events: ClientEvent[]): void {
    const record = this.record;
    record.status = "left";
    record.note = `removed by ${by}`;
    delete record.state;
    delete record.pending;
    events.push({ type: "left", channel: this.summary(), by, voluntary: false });
  }
}

export function summaryOf(record: ChannelRecord): ChannelSummary {
  return {
    id: record.id,
    url: record.url,
    name: record.name,
    status: record.status,
    epoch: record.epoch,
    waiting: record.pending !== undefined || record.createActivityId !== undefined,
    ...(record.note ? { note: record.note } : {}),
    ...(record.outOfSync && record.status === "active"
      ? { outOfSync: { reason: record.outOfSync.reason, since: record.outOfSync.since } }
      : {}),
    ...(record.dm ? { dm: { participants: [...record.dm.participants] } } : {}),
  };
}
