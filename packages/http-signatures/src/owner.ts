import type { VerifiedSignature } from "./request.js";

export type KeyOwnerCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "keyOwnerMismatch"; readonly detail: string };

/**
 * The signing key must belong to the activity's actor. (Forwarded activities are the caller's
 * concern: it decides whether the forwarding rule lets a different signer through.)
 */
export function checkKeyOwner(outcome: VerifiedSignature, activityActor: string): KeyOwnerCheck {
  if (outcome.keyOwner === activityActor) return { ok: true };
  return {
    ok: false,
    reason: "keyOwnerMismatch",
    detail: `signed by ${outcome.keyOwner} (key ${outcome.keyId}), but the activity's actor is ${activityActor}`,
  };
}
