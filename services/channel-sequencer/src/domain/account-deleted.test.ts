import { describe, expect, it } from "vitest";
import {
  checkAccountDeleted,
  deletionAsForwarded,
  instanceActorOf,
  maySayDeleted,
} from "./account-deleted.js";

const BOB = "https://b.example/users/bob";
const ALICE = "https://a.example/users/alice";
const C = "https://a.example/channels/c";
const members = [
  { leafIndex: 0, actorUrl: ALICE, acct: "alice@a.example" },
  { leafIndex: 1, actorUrl: BOB, acct: "bob@b.example" },
];
const roles = new Map([
  [ALICE, "owner" as const],
  [BOB, "member" as const],
]);
const check = (fields: Partial<Parameters<typeof checkAccountDeleted>[0]> = {}) =>
  checkAccountDeleted({
    actor: BOB,
    object: BOB,
    target: undefined,
    submitter: BOB,
    members,
    roles,
    ...fields,
  });

describe("the Delete of a member's actor", () => {
  it("may be said by the actor or its origin's instance actor only", () => {
    expect(instanceActorOf(BOB)).toBe("https://b.example/actor");
    expect(maySayDeleted(BOB, BOB)).toBe(true);
    expect(maySayDeleted("https://b.example/actor", BOB)).toBe(true);
    for (const other of ["https://evil.example/actor", "https://b.example/users/carol", "https://b.example"])
      expect(maySayDeleted(other, BOB), other).toBe(false);
    expect(instanceActorOf("not a url")).toBeUndefined();
  });

  it("is the departure of a member", () => {
    expect(check()).toEqual({ ok: true, departing: BOB });
    expect(check({ submitter: "https://b.example/actor" })).toEqual({ ok: true, departing: BOB });
  });

  it("is refused with a reason otherwise", () => {
    expect(check({ object: `${BOB}/notes/1` })).toMatchObject({ ok: false, reason: "malformed" });
    expect(check({ target: C })).toMatchObject({ ok: false, reason: "malformed" });
    expect(check({ submitter: "https://evil.example/actor" })).toMatchObject({
      ok: false,
      reason: "notAllowed",
    });
    expect(check({ members: members.slice(0, 1) })).toMatchObject({ ok: false, reason: "notAMember" });
  });

  it("is the departure of the last owner too: a deleted account cannot stay to manage the channel", () => {
    expect(check({ actor: ALICE, object: ALICE, submitter: ALICE })).toEqual({ ok: true, departing: ALICE });
  });

  it("is forwarded with the channel as target and its followers in `to`", () => {
    const activity = { type: "Delete", actor: BOB, object: BOB, to: [C] };
    expect(deletionAsForwarded(activity, C, `${C}/followers`)).toEqual({
      ...activity,
      target: C,
      to: [C, `${C}/followers`],
    });
  });
});
