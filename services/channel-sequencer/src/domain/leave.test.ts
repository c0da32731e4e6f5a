import { describe, expect, it } from "vitest";
import {
  checkLeave,
  lastOwnerRefusal,
  ownerSuccessor,
  pendingDepartureRefusal,
  removalBasis,
} from "./leave.js";
import type { ChannelRole } from "./roles.js";
import type { ChannelMember } from "./rules.js";

const C = "https://a.example/channels/abc";
const alice = "https://a.example/users/alice";
const bob = "https://b.example/users/bob";
const carol = "https://c.example/users/carol";

const member = (leafIndex: number, actorUrl: string): ChannelMember => ({
  leafIndex,
  actorUrl,
  acct: `acct:${actorUrl.split("/").at(-1)}@x`,
});
const members = [member(0, alice), member(1, bob), member(2, carol), member(3, bob)];
const roles = (entries: [string, ChannelRole][]) => new Map(entries);
const usual = roles([
  [alice, "owner"],
  [bob, "member"],
  [carol, "admin"],
]);

describe("checkLeave", () => {
  const leave = (overrides: Partial<Parameters<typeof checkLeave>[0]>) =>
    checkLeave({ channelUrl: C, object: C, target: C, submitter: bob, members, roles: usual, ...overrides });

  it("lets a member leave with every one of their leaves", () => {
    expect(leave({})).toEqual({ ok: true, departing: [member(1, bob), member(3, bob)] });
    expect(leave({ submitter: carol })).toEqual({ ok: true, departing: [member(2, carol)] });
  });

  it("refuses a Leave not naming the channel as object and target", () => {
    expect(leave({ object: undefined })).toMatchObject({ ok: false, reason: "malformed" });
    expect(leave({ object: `${C}/followers` })).toMatchObject({ ok: false, reason: "malformed" });
    expect(leave({ target: "https://a.example/channels/other" })).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });

  it("refuses someone who is not (or no longer) a member", () => {
    const gone = members.filter((m) => m.actorUrl !== bob);
    expect(leave({ members: gone })).toEqual({
      ok: false,
      reason: "notAMember",
      summary: `${bob} is not a member of the channel`,
    });
  });

  it("keeps the owner while other members remain", () => {
    expect(leave({ submitter: alice })).toEqual({
      ok: false,
      reason: "lastOwner",
      summary: "the channel's owner cannot leave while other members remain",
    });
  });
});

describe("lastOwnerRefusal", () => {
  it("lets the owner go when alone, or when another owner remains", () => {
    expect(lastOwnerRefusal(roles([[alice, "owner"]]), alice)).toBeUndefined();
    expect(
      lastOwnerRefusal(
        roles([
          [alice, "owner"],
          [bob, "owner"],
        ]),
        alice,
      ),
    ).toBeUndefined();
  });

  it("refuses the only owner while an admin or a member remains; others always pass", () => {
    expect(lastOwnerRefusal(usual, alice)).toMatch(/owner cannot leave/);
    expect(lastOwnerRefusal(usual, carol)).toBeUndefined();
    expect(lastOwnerRefusal(usual, bob)).toBeUndefined();
  });
});

describe("removalBasis", () => {
  const remaining = [member(0, alice), member(2, carol)];
  const departed = [member(1, bob), member(3, bob), member(4, "https://d.example/users/dan")];

  it("adds the departed leaves of the object only, and says the Remove completes a departure", () => {
    expect(removalBasis(remaining, departed, bob)).toEqual({
      members: [member(0, alice), member(1, bob), member(2, carol), member(3, bob)],
      completesDeparture: true,
    });
  });

  it("is the members as they are for anyone who did not leave", () => {
    expect(removalBasis(remaining, departed, carol)).toEqual({
      members: remaining,
      completesDeparture: false,
    });
    expect(removalBasis(remaining, [], bob).completesDeparture).toBe(false);
  });
});

describe("pendingDepartureRefusal", () => {
  it("refuses adding someone whose departure is not committed yet", () => {
    expect(pendingDepartureRefusal([member(1, bob)], bob)).toMatch(/left the channel/);
    expect(pendingDepartureRefusal([member(1, bob)], carol)).toBeUndefined();
  });
});

describe("ownerSuccessor", () => {
  it("passes the role of a last owner to the first admin, else to the first member", () => {
    const dave = "https://d.example/users/dave";
    expect(
      ownerSuccessor(
        roles([
          [alice, "owner"],
          [carol, "admin"],
          [bob, "member"],
          [dave, "admin"],
        ]),
        alice,
      ),
    ).toBe(carol);
    expect(
      ownerSuccessor(
        roles([
          [alice, "owner"],
          [carol, "member"],
          [bob, "member"],
        ]),
        alice,
      ),
    ).toBe(bob);
  });

  it("names nobody when the leaver is not the last owner or nobody remains", () => {
    expect(ownerSuccessor(usual, bob)).toBeUndefined();
    expect(ownerSuccessor(roles([[alice, "owner"]]), alice)).toBeUndefined();
  });
});
