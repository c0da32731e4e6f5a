import type { RuleCheck } from "./rules.js";

/**
 * Channel roles, in the spirit of the MIMI room policy: the owner (the creator, fixed), admins and
 * members. Only the owner and admins manage the channel (add, remove others, rename, change roles);
 * every member may send messages and remove themself.
 */
export type ChannelRole = "owner" | "admin" | "member";

/** The roles a role change may give: the owner role is never given nor taken. */
export type AssignableRole = "admin" | "member";

/** The roles stored for a channel; every member without one is a `member`. */
export type ElevatedRole = "owner" | "admin";

/** Every current member of a channel with their role; an actor that is absent is not a member. */
export type RoleTable = ReadonlyMap<string, ChannelRole>;

/**
 * The role of every follower: the stored role when there is one, else `member`. Stored roles of
 * actors who are not followers are ignored (only a current member has a role).
 */
export function roleTableOf(
  followers: readonly string[],
  elevated: ReadonlyMap<string, ElevatedRole>,
): RoleTable {
  return new Map(followers.map((actor) => [actor, elevated.get(actor) ?? "member"]));
}

/** `mimi:roles` of the followers collection: actor URL -> role, for every follower. */
export function rolesDocument(roles: RoleTable): Record<string, ChannelRole> {
  return Object.fromEntries(roles);
}

/** What a submission asks to do, as far as roles are concerned. */
export type ChannelAction =
  | { readonly kind: "add"; readonly object: string }
  | { readonly kind: "remove"; readonly object: string }
  | { readonly kind: "rename" }
  | { readonly kind: "setRole"; readonly member: string; readonly role: AssignableRole }
  | { readonly kind: "message" };

const manages = (role: ChannelRole | undefined) => role === "owner" || role === "admin";

/** `mimi:role` of a role change: `admin` or `member`. */
export function checkAssignableRole(value: unknown): RuleCheck<{ role: AssignableRole }> {
  if (value === "admin" || value === "member") return { ok: true, role: value };
  return { ok: false, summary: 'mimi:role must be "admin" or "member"' };
}

/**
 * Whether `submitter` may do `action` in a channel whose members have `roles` (docs/channels.md, Roles).
 * The MLS checks of a commit come after and are not repeated here.
 */
export function checkPermission(roles: RoleTable, submitter: string, action: ChannelAction): RuleCheck {
  const submitterRole = roles.get(submitter);
  if (submitterRole === undefined)
    return { ok: false, summary: `${submitter} is not a member of the channel` };
  switch (action.kind) {
    case "message":
      return { ok: true };
    case "add":
      return manages(submitterRole)
        ? { ok: true }
        : { ok: false, summary: "only the channel's owner or an admin may add members" };
    case "remove":
      // Leaving is every member's right; the MLS side of it is checked with the commit.
      if (action.object === submitter) return { ok: true };
      if (!manages(submitterRole)) {
        return { ok: false, summary: "only the channel's owner or an admin may remove other members" };
      }
      if (roles.get(action.object) === "owner") {
        return { ok: false, summary: "an admin cannot remove the channel's owner" };
      }
      return { ok: true };
    case "rename":
      return manages(submitterRole)
        ? { ok: true }
        : { ok: false, summary: "only the channel's owner or an admin may rename the channel" };
    case "setRole": {
      if (!manages(submitterRole)) {
        return { ok: false, summary: "only the channel's owner or an admin may change roles" };
      }
      const memberRole = roles.get(action.member);
      if (memberRole === undefined) {
        return {
          ok: false,
          summary: `${action.member} is not a member of the channel; only members can get a role`,
        };
      }
      if (memberRole === "owner") return { ok: false, summary: "the channel owner's role cannot be changed" };
      return { ok: true };
    }
  }
}
