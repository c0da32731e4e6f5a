import { describe, expect, it } from "vitest";
import {
  type ChannelAction,
  checkAssignableRole,
  checkPermission,
  type ElevatedRole,
  rolesDocument,
  roleTableOf,
} from "./roles.js";

const owner = "https://a.example/users/alice";
const admin = "https://b.example/users/bob";
const member = "https://a.example/users/carol";
const otherMember = "https://b.example/users/dave";
const stranger = "https://c.example/users/erin";

const roles = roleTableOf(
  [owner, admin, member, otherMember],
  new Map<string, ElevatedRole>([
    [owner, "owner"],
    [admin, "admin"],
    // A stored role of someone who is no longer a follower gives nothing.
    [stranger, "admin"],
  ]),
);

const allowed = (submitter: string, action: ChannelAction) => checkPermission(roles, submitter, action).ok;
const summaryOf = (submitter: string, action: ChannelAction) => {
  const check = checkPermission(roles, submitter, action);
  return check.ok ? "" : check.summary;
};

describe("roleTableOf and rolesDocument", () => {
  it("give every follower a role, `member` unless stored, and nobody else", () => {
    expect(rolesDocument(roles)).toEqual({
      [owner]: "owner",
      [admin]: "admin",
      [member]: "member",
      [otherMember]: "member",
    });
    expect(roles.get(stranger)).toBeUndefined();
  });
});

describe("checkPermission", () => {
  it("lets any member send messages, and nobody else", () => {
    for (const submitter of [owner, admin, member])
      expect(allowed(submitter, { kind: "message" })).toBe(true);
    expect(summaryOf(stranger, { kind: "message" })).toBe(`${stranger} is not a member of the channel`);
  });

  it("lets only the owner and admins add members", () => {
    expect(allowed(owner, { kind: "add", object: stranger })).toBe(true);
    expect(allowed(admin, { kind: "add", object: stranger })).toBe(true);
    expect(summaryOf(member, { kind: "add", object: stranger })).toBe(
      "only the channel's owner or an admin may add members",
    );
  });

  it("lets only the owner and admins remove others, and anyone remove themself", () => {
    expect(allowed(owner, { kind: "remove", object: admin })).toBe(true);
    expect(allowed(admin, { kind: "remove", object: member })).toBe(true);
    expect(summaryOf(member, { kind: "remove", object: otherMember })).toBe(
      "only the channel's owner or an admin may remove other members",
    );
    expect(allowed(member, { kind: "remove", object: member })).toBe(true);
    expect(allowed(admin, { kind: "remove", object: admin })).toBe(true);
    expect(allowed(owner, { kind: "remove", object: owner })).toBe(true);
  });

  it("does not let an admin remove the owner", () => {
    expect(summaryOf(admin, { kind: "remove", object: owner })).toBe(
      "an admin cannot remove the channel's owner",
    );
  });

  it("lets only the owner and admins rename", () => {
    expect(allowed(owner, { kind: "rename" })).toBe(true);
    expect(allowed(admin, { kind: "rename" })).toBe(true);
    expect(summaryOf(member, { kind: "rename" })).toBe(
      "only the channel's owner or an admin may rename the channel",
    );
  });

  it("lets the owner and admins give members roles, never to the owner nor to non-members", () => {
    expect(allowed(owner, { kind: "setRole", member, role: "admin" })).toBe(true);
    expect(allowed(admin, { kind: "setRole", member, role: "admin" })).toBe(true);
    expect(allowed(admin, { kind: "setRole", member: admin, role: "member" })).toBe(true);
    expect(summaryOf(member, { kind: "setRole", member, role: "admin" })).toBe(
      "only the channel's owner or an admin may change roles",
    );
    expect(summaryOf(admin, { kind: "setRole", member: owner, role: "member" })).toBe(
      "the channel owner's role cannot be changed",
    );
    expect(summaryOf(owner, { kind: "setRole", member: owner, role: "admin" })).toBe(
      "the channel owner's role cannot be changed",
    );
    expect(summaryOf(owner, { kind: "setRole", member: stranger, role: "admin" })).toBe(
      `${stranger} is not a member of the channel; only members can get a role`,
    );
  });
});

describe("checkAssignableRole", () => {
  it("takes admin and member only", () => {
    expect(checkAssignableRole("admin")).toEqual({ ok: true, role: "admin" });
    expect(checkAssignableRole("member")).toEqual({ ok: true, role: "member" });
    for (const value of ["owner", "Admin", undefined, 1]) expect(checkAssignableRole(value).ok).toBe(false);
  });
});
