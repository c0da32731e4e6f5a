import type { ChannelSequencerContext } from "../context.js";
import { checkDmAdd, checkDmParticipants, dmFixedRefusal } from "../domain/dm.js";
import type { ChannelSummary } from "../domain/documents.js";
import type { Submission } from "../domain/submission.js";
import type { Decision } from "./decision.js";

/**
 * A group DM's MLS group is a channel whose Create named it `mimi:kind` "dm" (protocol.md section 14).
 * It is created like a channel (its creator alone at epoch 0, then one Add per other participant), and
 * its name is its conversation key, so a channel whose name cannot be a key needs no lookup.
 */

/** A conversation key's shape: base64url SHA-256, unpadded. */
const CONVERSATION_KEY = /^[A-Za-z0-9_-]{43}$/;

const reject = (summary: string, reason: string): Decision => ({ kind: "reject", summary, reason });

type CreateSubmission = Extract<Submission, { kind: "create" }>;

/**
 * A DM Create: its participants and key are checked first (no MLS work), then everything a channel's
 * Create must be, with the conversation key as its name; last, the creator whose credential the
 * GroupInfo holds must be a participant.
 */
export async function decideDmCreate(
  submission: CreateSubmission & { dm: NonNullable<CreateSubmission["dm"]> },
  createChannel: (named: CreateSubmission) => Promise<Decision>,
  maxParticipants: number,
): Promise<Decision> {
  const { dm } = submission;
  if (dm.kind !== "dm")
    return { kind: "reject", summary: `mimi:kind must be "dm", not ${JSON.stringify(dm.kind)}` };
  if (submission.name !== undefined) return reject("a DM group has no name", "dmFixed");
  const listed = checkDmParticipants(dm.participants, dm.conversation, undefined, maxParticipants);
  if (!listed.ok) return reject(listed.summary, listed.reason);
  const { dm: _kind, ...channelSubmission } = submission;
  const decided = await createChannel({ ...channelSubmission, name: dm.conversation });
  if (decided.kind !== "accept" || decided.change.kind !== "create") return decided;
  const creator = decided.change.members[0];
  if (creator === undefined) return reject("the GroupInfo holds no creator", "dmParticipantsInvalid");
  const participants = checkDmParticipants(dm.participants, dm.conversation, creator.acct, maxParticipants);
  if (!participants.ok) return reject(participants.summary, participants.reason);
  return decided;
}

/**
 * The participants of a DM group, read from its Create (log entry 1); undefined for a channel. Only
 * channels named like a conversation key are looked up.
 */
export async function dmParticipantsOf(
  ctx: ChannelSequencerContext,
  channel: ChannelSummary,
): Promise<readonly string[] | undefined> {
  if (!CONVERSATION_KEY.test(channel.name)) return undefined;
  const [first] = await ctx.store.log(channel.id, 0, 1);
  const object = first?.activity.object;
  if (typeof object !== "object" || object === null || Array.isArray(object)) return undefined;
  const record = object as Record<string, unknown>;
  if (record["mimi:kind"] !== "dm" || record["mimi:conversation"] !== channel.name) return undefined;
  const participants = record["mimi:participants"];
  return Array.isArray(participants) && participants.every((entry) => typeof entry === "string")
    ? participants
    : undefined;
}

/** A rename, role change or Leave in a DM group: refused (a DM has none of them). */
export async function dmFixedDecision(
  ctx: ChannelSequencerContext,
  channel: ChannelSummary,
  kind: "rename" | "role" | "leave",
): Promise<Decision | undefined> {
  if ((await dmParticipantsOf(ctx, channel)) === undefined) return undefined;
  const refused = dmFixedRefusal(kind);
  return reject(refused.summary, refused.reason);
}

/** A Remove of a participant: refused, since a different set is a different conversation. */
export function dmRemoveDecision(
  participants: readonly string[] | undefined,
  object: string,
): Decision | undefined {
  if (participants === undefined) return undefined;
  return reject(
    `${object} is a participant; removing a person makes a different conversation`,
    "dmParticipantRemoval",
  );
}

/** An Add in a DM group: only devices of participants. */
export function dmAddDecision(
  participants: readonly string[] | undefined,
  addedAccts: readonly string[],
): Decision | undefined {
  if (participants === undefined) return undefined;
  const check = checkDmAdd(addedAccts, participants);
  return check.ok ? undefined : reject(check.summary, check.reason);
}
