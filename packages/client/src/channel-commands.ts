import type { StoredMessage } from "./account-store.js";
import { renameActivity, roleActivity } from "./activities.js";
import type { KeyPackageClaimCollection } from "./api.js";
import type { ChannelSummary, MemberList, SubmittedChange } from "./client-types.js";
import { isSimpleReaction, MAX_REACTION_BYTES } from "./content/interpret.js";
import { Disposition, nullPart, textPart } from "./content/mimi-content.js";
import type { AccountContext } from "./context.js";
import { proposeAdd, proposeKeyUpdate, proposeRemove, startChannel } from "./conversation/commits.js";
import {
  forgetLeaving,
  type LeaveStatus,
  leaveActivity,
  leaveStatus,
  markLeaving,
} from "./conversation/departures.js";
import { activeConversation, changeableConversation, resolveConversation } from "./conversation/directory.js";
import { type ChannelMessage, findMessage, messageView } from "./conversation/message-view.js";
import { encryptMessage, type OutgoingContent } from "./conversation/messages.js";
import {
  actorNamedByClaim,
  clientIdsIn,
  clientsByAcct,
  keyPackagesToAdd,
  leavesOf,
  rolesOf,
  whyNothingToAdd,
} from "./conversation/roster.js";
import { ConversationSession } from "./conversation/session.js";
import type { DeviceKeys } from "./device/device-keys.js";
import { errorText, MimiClientError } from "./errors.js";
import { checkChannelName, domainOfAcct, handleOfAcct, normalizeAcct } from "./names.js";
import { AddWaitsForConsent, isConsentRequired, recordPendingAdd } from "./pending-adds.js";
import type { SyncEngine } from "./sync/engine.js";

/** Group DMs (docs/protocol.md 14.2): another set of people is another conversation. */
const FIXED_PARTICIPANTS =
  "a conversation's participants are fixed: start a conversation with the people you want instead";

/**
 * What a user does with channels: create, add and remove members, rename, set roles, send, and read
 * what is stored. Commits and messages are built on a conversation session; a change syncs first so
 * it is built on the newest epoch. Callers hold the account's lock.
 */
export class ChannelCommands {
  constructor(
    private readonly ctx: AccountContext,
    private readonly keys: DeviceKeys,
    private readonly engine: SyncEngine,
  ) {}

  async list(): Promise<ChannelSummary[]> {
    return (await ConversationSession.all(this.ctx)).map((session) => session.summary());
  }

  async find(reference: string): Promise<ChannelSummary> {
    return (await resolveConversation(this.ctx, reference)).summary();
  }

  /** A channel hosted by the home provider, with this device as its only member, pending until accepted. */
  async create(name: string): Promise<ChannelSummary> {
    checkChannelName(name);
    const device = await this.keys.require();
    const { session, activity } = await startChannel(this.ctx, await this.keys.ownLeaf(device), name);
    await session.submitCreate(activity);
    return session.summary();
  }

  /**
   * Adds every client of `acct`: claims their KeyPackages through the home server (unless `claimed`
   * is the answer of a claim made already), commits, submits Add.
   */
  async addMember(
    reference: string,
    acct: string,
    claimed?: KeyPackageClaimCollection,
  ): Promise<SubmittedChange> {
    await this.engine.sync();
    const session = await changeableConversation(this.ctx, reference);
    const target = normalizeAcct(acct);
    if (session.record.dm && !session.record.dm.participants.includes(target.toLowerCase()))
      throw new MimiClientError(FIXED_PARTICIPANTS);
    const state = session.state();
    const claim =
      claimed ??
      (await this.ctx.api.claimKeyPackages(target).catch(async (error: unknown) => {
        // They accept adds only from contacts and were asked: the add waits, and sync tries it again.
        if (
          isConsentRequired(error) &&
          (await recordPendingAdd(
            this.ctx.store,
            { channel: session.record.id, acct: target },
            this.ctx.now(),
          ))
        )
          throw new AddWaitsForConsent(
            `${handleOfAcct(target)} accepts adds only from contacts and has been asked: the add to ${session.record.name} waits for their consent, and mimi join makes it once they accept`,
          );
        throw error;
      }));
    const items = claim.items ?? claim.orderedItems ?? [];
    const keyPackages = keyPackagesToAdd(items, target, clientIdsIn(state));
    if (keyPackages.length === 0) {
      const why = whyNothingToAdd(claim, target, clientIdsIn(state));
      throw new MimiClientError(
        why.alreadyMember
          ? `${handleOfAcct(target)} is already a member of ${session.record.name}`
          : why.reasons.length > 0
            ? `${handleOfAcct(target)} has no KeyPackage to add: ${why.reasons.join("; ")}`
            : `${handleOfAcct(target)} has no KeyPackage to add: the claim answer lists no client (no registered device)`,
      );
    }
    const actor = await this.actorOf(session, target, claim);
    const activity = await proposeAdd(session, { acct: target, actor, keyPackages });
    return session.submitPending(activity);
  }

  /** Commits a key update of this device's leaf (a fresh UpdatePath) and submits it. */
  async rotateKeys(reference: string): Promise<SubmittedChange> {
    await this.engine.sync();
    const session = await changeableConversation(this.ctx, reference);
    return session.submitPending(await proposeKeyUpdate(session));
  }

  /** Removes every client of `acct` (every leaf whose credential names it) and submits Remove. */
  async removeMember(reference: string, acct: string): Promise<SubmittedChange> {
    await this.engine.sync();
    const session = await changeableConversation(this.ctx, reference);
    if (session.record.dm) throw new MimiClientError(FIXED_PARTICIPANTS);
    const target = normalizeAcct(acct);
    if (target === this.ctx.account.acct)
      throw new MimiClientError("you cannot remove yourself from a channel");
    const leaves = leavesOf(session.state(), target);
    if (leaves.length === 0)
      throw new MimiClientError(`${handleOfAcct(target)} is not a member of ${session.record.name}`);
    const actor = await this.actorOf(session, target);
    const activity = await proposeRemove(session, { acct: target, actor, leaves });
    return session.submitPending(activity);
  }

  /**
   * Submits our Leave. The channel's answer (through `sync`) marks the channel left, or keeps it with
   * the refusal's reason; what is stored stays either way.
   */
  async leave(reference: string): Promise<ChannelSummary> {
    await this.engine.sync();
    const session = await activeConversation(this.ctx, reference);
    const activity = leaveActivity(this.ctx.account.actor, session.record.url);
    markLeaving(session, activity.id);
    await session.save();
    try {
      await session.post(activity);
    } catch (error) {
      forgetLeaving(session);
      await session.save();
      throw error;
    }
    return session.summary();
  }

  /** The channel and where our Leave stands. */
  async leaveOutcome(reference: string): Promise<{ channel: ChannelSummary; outcome: LeaveStatus }> {
    const session = await resolveConversation(this.ctx, reference);
    return { channel: session.summary(), outcome: leaveStatus(session.record) };
  }

  /** Renames a channel (Update{Service}); the new name is shown locally at once. */
  async rename(reference: string, name: string): Promise<ChannelSummary> {
    checkChannelName(name);
    const session = await activeConversation(this.ctx, reference);
    if (session.record.dm) throw new MimiClientError("a conversation is named by its participants");
    const activity = renameActivity(this.ctx.account.actor, session.record.url, name);
    await session.post(activity);
    session.awaitAnswer({ activityId: activity.id, what: "rename", previousName: session.record.name });
    session.record.name = name;
    await session.save();
    return session.summary();
  }

  /** Gives a member the role `admin` or `member`; the channel decides whether we may. */
  async setRole(
    reference: string,
    acct: string,
    role: "admin" | "member",
  ): Promise<{ channel: ChannelSummary; activityId: string }> {
    const session = await activeConversation(this.ctx, reference);
    const target = normalizeAcct(acct);
    const actor = await this.actorOf(session, target);
    const activity = roleActivity(this.ctx.account.actor, session.record.url, actor, role);
    await session.post(activity);
    session.awaitAnswer({ activityId: activity.id, what: "role" });
    await session.save();
    return { channel: session.summary(), activityId: activity.id };
  }

  /**
   * Syncs, then encrypts `text` (a reply when `inReplyTo` names a stored message, by id or unique
   * prefix) on the current epoch and submits it; the message is stored locally.
   */
  async send(reference: string, text: string, options: { inReplyTo?: string } = {}): Promise<StoredMessage> {
    await this.engine.sync();
    const session = await activeConversation(this.ctx, reference);
    checkText(text);
    const inReplyTo =
      options.inReplyTo === undefined ? undefined : (await this.target(session, options.inReplyTo)).id;
    return this.submit(session, { body: textPart(text), ...(inReplyTo ? { inReplyTo } : {}) });
  }

  /** Replaces the text of one of our messages (the draft's edit: `replaces` with the new body). */
  async edit(reference: string, messageId: string, text: string): Promise<StoredMessage> {
    await this.engine.sync();
    const session = await activeConversation(this.ctx, reference);
    checkText(text);
    const target = await this.ownTarget(session, messageId, "edit");
    return this.submit(session, {
      body: textPart(text),
      replaces: target.id,
      ...(target.inReplyTo ? { inReplyTo: target.inReplyTo } : {}),
    });
  }

  /** Deletes one of our messages (the draft's delete: `replaces` with a null part). */
  async deleteMessage(reference: string, messageId: string): Promise<StoredMessage> {
    await this.engine.sync();
    const session = await activeConversation(this.ctx, reference);
    const target = await this.ownTarget(session, messageId, "delete");
    return this.submit(session, {
      body: nullPart(),
      replaces: target.id,
      ...(target.inReplyTo ? { inReplyTo: target.inReplyTo } : {}),
    });
  }

  /** Reacts to a message (the `reaction` disposition, `inReplyTo` the message): a short text such as an emoji. */
  async react(reference: string, messageId: string, reaction: string): Promise<StoredMessage> {
    await this.engine.sync();
    const session = await activeConversation(this.ctx, reference);
    if (!isSimpleReaction(reaction))
      throw new MimiClientError(
        `a reaction is one short text without spaces (at most ${MAX_REACTION_BYTES} bytes), such as an emoji`,
      );
    const target = await this.target(session, messageId);
    return this.submit(session, { body: textPart(reaction, Disposition.reaction), inReplyTo: target.id });
  }

  private async submit(session: ConversationSession, outgoing: OutgoingContent): Promise<StoredMessage> {
    const { activity, message } = await encryptMessage(session, outgoing);
    return session.postMessage(activity, message);
  }

  /** A shown message of the conversation, by id or unique prefix. */
  private async target(session: ConversationSession, messageId: string): Promise<ChannelMessage> {
    const view = messageView(await this.ctx.store.loadMessages(session.id));
    const found = findMessage(view, messageId, session.record.name);
    if (!found.ok) throw new MimiClientError(found.reason);
    return found.message;
  }

  private async ownTarget(
    session: ConversationSession,
    messageId: string,
    what: "edit" | "delete",
  ): Promise<ChannelMessage> {
    const target = await this.target(session, messageId);
    if (target.senderUri !== this.ctx.account.acct)
      throw new MimiClientError(
        `you can only ${what} your own messages (${messageId} is ${handleOfAcct(target.senderUri)}'s)`,
      );
    if (target.deletedAt !== undefined) throw new MimiClientError(`${messageId} was deleted`);
    return target;
  }

  /** The channel's messages as shown: edits, deletions and reactions applied (see message-view.ts). */
  async messages(reference: string): Promise<{ channel: ChannelSummary; messages: ChannelMessage[] }> {
    const session = await resolveConversation(this.ctx, reference);
    return {
      channel: session.summary(),
      messages: messageView(await this.ctx.store.loadMessages(session.id)),
    };
  }

  /** Members from the MLS roster, plus the channel's followers and roles read through the home server. */
  async members(reference: string): Promise<MemberList> {
    const session = await resolveConversation(this.ctx, reference);
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
      const followers = await this.ctx.api.channelFollowers(record.url);
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
  }

  /**
   * The actor URL of an account: named by the claim answer, known from the channel's history, or
   * (for a user of the home provider) found by WebFinger on the home server.
   */
  private async actorOf(
    session: ConversationSession,
    acct: string,
    claim?: KeyPackageClaimCollection,
  ): Promise<string> {
    const named = claim ? actorNamedByClaim(claim) : undefined;
    if (named) return named;
    const known = session.record.actors[acct];
    if (known) return known;
    if (domainOfAcct(acct) === domainOfAcct(this.ctx.account.acct)) {
      const jrd = await this.ctx.api.webfinger(acct);
      const self = jrd.links?.find((link) => link.rel === "self" && typeof link.href === "string");
      if (self?.href) return self.href;
    }
    throw new MimiClientError(
      `cannot tell the actor URL of ${handleOfAcct(acct)} (the claim answer does not name it)`,
    );
  }
}

function checkText(text: string) {
  if (text.length === 0) throw new MimiClientError("an empty message cannot be sent");
}
