import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";

export type OutboxDenyReason = "wrongUser" | "actorMismatch" | "activityIdNotLocal";

export type OutboxAuthorization =
  | { readonly allow: true }
  | { readonly allow: false; readonly reason: OutboxDenyReason; readonly detail: string };

/**
 * Whether a token's user may submit this activity to `username`'s outbox (docs/trust-model.md, Client
 * to server): only the user's own token, for an activity whose actor is the user (`actor`, the user's
 * actor URL), with an id under that actor URL. Clients name their activities under their own actor
 * URL (docs/channels.md, Identifiers), so ids cannot collide with another user's or with the ones
 * channels mint.
 */
export function authorizeOutboxSubmission(input: {
  readonly username: string;
  /** The user the bearer token belongs to. */
  readonly tokenOwner: string;
  readonly actor: string;
  readonly activity: ActivityEnvelope;
}): OutboxAuthorization {
  const { actor, activity } = input;
  if (input.tokenOwner !== input.username) {
    return { allow: false, reason: "wrongUser", detail: "this token belongs to another user" };
  }
  if (actorIdOf(activity) !== actor) {
    return { allow: false, reason: "actorMismatch", detail: `the activity's actor must be ${actor}` };
  }
  if (!activity.id.startsWith(`${actor}/`)) {
    return {
      allow: false,
      reason: "activityIdNotLocal",
      detail: `the activity id must be a URL under ${actor}/`,
    };
  }
  return { allow: true };
}
