/**
 * The Delete of a member's actor (`Delete{object: actor}`, naming no `target`): their account is gone
 * from their provider (docs/protocol.md 6.11). The channel treats it as that member's departure, as a
 * Leave: the actor stops being a follower at once and a remaining member commits the Remove of their
 * leaves. Only the actor or the instance actor of the actor's origin (`<origin>/actor`, which signs it
 * once the actor's own key is gone) may say it; anyone else, another provider or another user of that
 * origin, is refused and nothing changes. Unlike a Leave, the owner's account going is never refused:
 * the owner role passes to the first admin, else the first member (`ownerSuccessor`). Pure; the store
 * applies the departure.
 */
import type { RoleTable } from "./roles.js";
import type { ChannelMember } from "./rules.js";

/** The machine-readable reason (`mimi:reason`) of the Reject of a Delete of an actor. */
export type AccountDeletedReason = "malformed" | "notAllowed" | "notAMember";

export type AccountDeletedCheck =
  | { readonly ok: true; readonly departing: string }
  | { readonly ok: false; readonly reason: AccountDeletedReason; readonly summary: string };

const refuse = (reason: AccountDeletedReason, summary: string): AccountDeletedCheck => ({
  ok: false,
  reason,
  summary,
});

/** The instance actor of `actor`'s origin, where this provider and Mastodon serve it. */
export function instanceActorOf(actor: string): string | undefined {
  try {
    return `${new URL(actor).origin}/actor`;
  } catch {
    return undefined;
  }
}

/** Whether `submitter` (the verified signer) may say that `actor`'s account is gone. */
export function maySayDeleted(submitter: string, actor: string): boolean {
  return submitter === actor || submitter === instanceActorOf(actor);
}

export function checkAccountDeleted(input: {
  /** The activity's `actor`. */
  readonly actor: string;
  readonly object: string | undefined;
  readonly target: string | undefined;
  /** Who signed it (the channel inbox item's authenticated actor). */
  readonly submitter: string;
  readonly members: readonly ChannelMember[];
  readonly roles: RoleTable;
}): AccountDeletedCheck {
  const { actor } = input;
  if (input.object !== actor || input.target !== undefined)
    return refuse(
      "malformed",
      "a Delete sent to a channel must be the Delete of its own actor, with no target",
    );
  if (!maySayDeleted(input.submitter, actor))
    return refuse(
      "notAllowed",
      `only ${actor} or its origin's instance actor may say that its account is gone, not ${input.submitter}`,
    );
  if (!input.members.some((member) => member.actorUrl === actor))
    return refuse("notAMember", `${actor} is not a member of the channel`);
  // The last owner goes too: the role passes to another member when the departure is stored.
  return { ok: true, departing: actor };
}

/**
 * The Delete as the channel logs and forwards it: with the channel as `target` and its followers in
 * `to`, as members' providers and clients accept a channel's forward only with both.
 */
export function deletionAsForwarded<T extends Readonly<Record<string, unknown>>>(
  activity: T,
  channelUrl: string,
  followersUrl: string,
): T {
  const to = activity.to === undefined ? [] : Array.isArray(activity.to) ? [...activity.to] : [activity.to];
  return { ...activity, target: channelUrl, to: to.includes(followersUrl) ? to : [...to, followersUrl] };
}
