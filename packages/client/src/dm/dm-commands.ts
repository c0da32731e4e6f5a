import type { ChannelRecord, StoredMessage } from "../account-store.js";
import type { KeyPackageClaimCollection } from "../api.js";
import type { ChannelSummary } from "../client-types.js";
import { textPart } from "../content/mimi-content.js";
import { type AccountContext, homeBase } from "../context.js";
import { startDmGroup } from "../conversation/commits.js";
import { activeConversation } from "../conversation/directory.js";
import { type ChannelMessage, messageView } from "../conversation/message-view.js";
import { encryptMessage } from "../conversation/messages.js";
import { summaryOf } from "../conversation/session.js";
import type { DeviceKeys } from "../device/device-keys.js";
import { MimiClientError } from "../errors.js";
import { handleOfAcct } from "../names.js";
import { isConsentRequired } from "../pending-adds.js";
import type { SyncEngine } from "../sync/engine.js";
import {
  compareCodeUnits,
  conversationKey,
  conversationLabel,
  participantSet,
  sendingGroup,
} from "./conversation.js";
import { isLiveDmGroup, knownDmGroup, MAX_DM_PARTICIPANTS, participantsWithoutActor } from "./groups.js";

/** One group DM as this device shows it: its participants, its groups, its latest message. */
export interface DmConversation {
  /** P: lowercase acct URIs, sorted. */
  participants: string[];
  /** The conversation key (docs/protocol.md 14.1). */
  conversation: string;
  /** How it is called: the other participants' handles, comma-separated (`@bob@b.test,@carol@c.test`). */
  label: string;
  /** The group messages are sent in (the lowest URL of the complete ones), if any is ready. */
  sendingGroup?: string;
  /** Every group this device holds for the conversation (more than one after two starts at once). */
  groups: ChannelSummary[];
  lastMessage?: ChannelMessage;
}

/** Where sending to a conversation stands: the group to send in, and whom it still has to add. */
export interface DmPlan {
  participants: string[];
  conversation: string;
  /** The group to send in, or to finish adding the participants to; absent: one must be started. */
  group?: ChannelSummary;
  /** Participants the group has no member for yet (ours to add, one Add each). */
  missing: string[];
}

/**
 * What a user does with group DMs (section 14): work out the conversation of a set of people, start
 * its group, send in it and read it. Each method is one step under the account's lock; the waiting
 * between steps (for the group's Accepts) is `MimiClient.dm`'s.
 */
export class DmCommands {
  constructor(
    private readonly ctx: AccountContext,
    private readonly keys: DeviceKeys,
    private readonly engine: SyncEngine,
  ) {}

  /** P for `others` and us, checked: at least one other participant, at most the protocol's limit. */
  participants(others: readonly string[]): string[] {
    const participants = participantSet(this.ctx.account.acct, others);
    if (participants.length > MAX_DM_PARTICIPANTS)
      throw new MimiClientError(`a group DM has at most ${MAX_DM_PARTICIPANTS} participants`);
    return participants;
  }

  /**
   * After a sync (a Welcome may have brought a group): the group to send in is the lowest URL among
   * the complete groups of the conversation (section 14.6); without one, a group of our own host
   * still being set up is finished; otherwise a new one must be started.
   */
  async plan(others: readonly string[]): Promise<DmPlan> {
    const participants = this.participants(others);
    const conversation = conversationKey(participants);
    await this.engine.sync();
    const groups = await this.groupsOf(conversation);
    const complete = groups.filter((record) => record.status === "active" && knownDmGroup(record));
    const chosen = sendingGroup(complete.map((record) => record.url));
    if (chosen !== undefined) {
      const record = complete.find((r) => r.url === chosen) as ChannelRecord;
      return { participants, conversation, group: summaryOf(record), missing: [] };
    }
    const own = sendingGroup(groups.filter((record) => this.hostedHere(record)).map((record) => record.url));
    const record = groups.find((r) => r.url === own);
    if (!record)
      return {
        participants,
        conversation,
        missing: participants.filter((acct) => acct !== this.ctx.account.acct),
      };
    return {
      participants,
      conversation,
      group: summaryOf(record),
      missing: participantsWithoutActor(record),
    };
  }

  /** The participants the group `url` has no member for yet. */
  async missingIn(url: string): Promise<string[]> {
    return participantsWithoutActor((await activeConversation(this.ctx, url)).record);
  }

  /**
   * Before a group is started: every other participant's KeyPackages, claimed through the home
   * server, so that someone who does not exist (or takes adds only from contacts) stops the start
   * before anything is made. The answers are used for the Adds.
   */
  async claimAll(accts: readonly string[]): Promise<Map<string, KeyPackageClaimCollection>> {
    const claims = new Map<string, KeyPackageClaimCollection>();
    for (const acct of accts) {
      const claim = await this.ctx.api.claimKeyPackages(acct).catch((error: unknown) => {
        if (isConsentRequired(error))
          throw new MimiClientError(
            `${handleOfAcct(acct)} accepts conversations only from contacts: ask them to accept you first`,
          );
        throw error;
      });
      claims.set(acct, claim);
    }
    return claims;
  }

  /** Starts the conversation's group on the home provider: this device alone, until the Adds. */
  async start(participants: readonly string[]): Promise<ChannelSummary> {
    const device = await this.keys.require();
    const { session, activity } = await startDmGroup(this.ctx, await this.keys.ownLeaf(device), participants);
    await session.submitCreate(activity);
    return session.summary();
  }

  /**
   * Encrypts `text` in the group `url` and sends it to every participant's actor; the message gets
   * no answer from anyone (the group's host does not see it), so it is stored as sent.
   */
  async send(url: string, text: string): Promise<StoredMessage> {
    if (text.length === 0) throw new MimiClientError("an empty message cannot be sent");
    await this.engine.sync();
    const session = await activeConversation(this.ctx, url);
    const group = knownDmGroup(session.record);
    if (!group)
      throw new MimiClientError(
        `not every participant of ${url} is in the group yet: ${participantsWithoutActor(session.record).join(", ")}`,
      );
    const { activity, message } = await encryptMessage(session, { body: textPart(text) }, group);
    return session.postMessage(activity, message);
  }

  /** Every conversation this device takes part in, the latest first, with its last message. */
  async list(): Promise<DmConversation[]> {
    const byKey = new Map<string, ChannelRecord[]>();
    for (const record of await this.ctx.store.listChannels()) {
      if (!record.dm || record.status === "failed") continue;
      byKey.set(record.dm.conversation, [...(byKey.get(record.dm.conversation) ?? []), record]);
    }
    const conversations: DmConversation[] = [];
    for (const records of byKey.values()) {
      const messages = await this.messagesOf(records);
      conversations.push(this.conversationOf(records, messages.at(-1)));
    }
    const latest = (c: DmConversation) => c.lastMessage?.timestamp ?? 0;
    return conversations.sort((a, b) => latest(b) - latest(a));
  }

  /** One conversation's messages as shown, from every group it has, in the order they were sent or received. */
  async read(
    others: readonly string[],
  ): Promise<{ conversation: DmConversation; messages: ChannelMessage[] }> {
    const participants = this.participants(others);
    const records = await this.groupsOf(conversationKey(participants));
    if (records.length === 0)
      throw new MimiClientError(
        `no conversation with ${conversationLabel(participants, this.ctx.account.acct)} yet`,
      );
    const messages = await this.messagesOf(records);
    return { conversation: this.conversationOf(records, messages.at(-1)), messages };
  }

  private async groupsOf(conversation: string): Promise<ChannelRecord[]> {
    return (await this.ctx.store.listChannels()).filter(
      (record) => isLiveDmGroup(record) && record.dm?.conversation === conversation,
    );
  }

  private hostedHere(record: ChannelRecord): boolean {
    return record.url.startsWith(`${homeBase(this.ctx.account)}/channels/`);
  }

  private async messagesOf(records: readonly ChannelRecord[]): Promise<ChannelMessage[]> {
    const all: ChannelMessage[] = [];
    for (const record of records) all.push(...messageView(await this.ctx.store.loadMessages(record.id)));
    return all.sort((a, b) => a.timestamp - b.timestamp || compareCodeUnits(a.id, b.id));
  }

  private conversationOf(records: readonly ChannelRecord[], lastMessage?: ChannelMessage): DmConversation {
    const dm = records[0]?.dm as NonNullable<ChannelRecord["dm"]>;
    const complete = records.filter((record) => record.status === "active" && knownDmGroup(record));
    const sending = sendingGroup(complete.map((record) => record.url));
    return {
      participants: dm.participants,
      conversation: dm.conversation,
      label: conversationLabel(dm.participants, this.ctx.account.acct),
      ...(sending ? { sendingGroup: sending } : {}),
      groups: records.map(summaryOf),
      ...(lastMessage ? { lastMessage } : {}),
    };
  }
}
