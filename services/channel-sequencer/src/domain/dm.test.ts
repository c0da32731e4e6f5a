import { describe, expect, it } from "vitest";
import {
  canonicalAcct,
  checkDmAdd,
  checkDmParticipants,
  checkDmRemaining,
  conversationKey,
  dmActorFields,
  dmFixedRefusal,
} from "./dm.js";

const P = ["acct:alice@a.example", "acct:bob@b.example", "acct:carol@c.example"];

describe("a DM's participants at creation", () => {
  it("accepts a sorted set with the creator and its key", () => {
    const checked = checkDmParticipants(P, conversationKey(P), "acct:alice@a.example", 32);
    expect(checked).toEqual({ ok: true, value: P });
  });

  it("shares its key with the protocol page's example", () => {
    expect(conversationKey(P)).toBe("u7xY8BKxt9fOmoPV-FqyAk18VV-89kAdwCYhk_Z7hdU");
  });

  it("refuses lists that are not a participant set, or miss the creator", () => {
    const reasonOf = (participants: unknown, creator = "acct:alice@a.example", max = 32) => {
      const checked = checkDmParticipants(
        participants,
        Array.isArray(participants) ? conversationKey(participants) : "",
        creator,
        max,
      );
      return checked.ok ? "ok" : checked.reason;
    };
    expect(reasonOf("acct:alice@a.example")).toBe("dmParticipantsInvalid");
    expect(reasonOf(["acct:alice@a.example"])).toBe("dmParticipantsInvalid");
    expect(reasonOf([P[1], P[0]])).toBe("dmParticipantsInvalid");
    expect(reasonOf([P[0], P[0]])).toBe("dmParticipantsInvalid");
    expect(reasonOf(["acct:Alice@a.example", P[1]])).toBe("dmParticipantsInvalid");
    expect(reasonOf(["alice@a.example", P[1]])).toBe("dmParticipantsInvalid");
    expect(reasonOf([P[1], P[2]])).toBe("dmParticipantsInvalid");
    expect(reasonOf(P, "acct:alice@a.example", 2)).toBe("dmParticipantsInvalid");
    expect(reasonOf(P)).toBe("ok");
  });

  it("refuses a key that is not the set's", () => {
    const checked = checkDmParticipants(P, conversationKey(P.slice(0, 2)), "acct:alice@a.example", 32);
    expect(checked.ok ? "ok" : checked.reason).toBe("dmConversationMismatch");
  });
});

describe("commits in a DM group", () => {
  it("adds only participants' devices", () => {
    expect(checkDmAdd(["acct:bob@b.example"], P)).toEqual({ ok: true });
    const outsider = checkDmAdd(["acct:bob@b.example", "acct:dave@d.example"], P);
    expect(outsider.ok ? "ok" : outsider.reason).toBe("dmNotParticipant");
  });

  it("never leaves a participant without a device", () => {
    expect(checkDmRemaining(P, P)).toEqual({ ok: true });
    const removed = checkDmRemaining(P.slice(0, 2), P);
    expect(removed.ok ? "ok" : removed.reason).toBe("dmParticipantRemoval");
  });

  it("takes no name, roles or departures", () => {
    expect(dmFixedRefusal("rename").reason).toBe("dmFixed");
    expect(dmFixedRefusal("leave").summary).toBe("a DM group has no departures: its participants are fixed");
  });

  it("reads accts in their canonical form", () => {
    expect(canonicalAcct("acct:Bob@B.example")).toBe("acct:bob@b.example");
    expect(canonicalAcct("bob@b.example")).toBeUndefined();
  });
});

describe("a DM's participants before the creator is known", () => {
  it("checks the list and key only", () => {
    expect(checkDmParticipants(P.slice(1), conversationKey(P.slice(1)), undefined, 32).ok).toBe(true);
    const unsorted = checkDmParticipants([P[2], P[1]], "", undefined, 32);
    expect(unsorted.ok ? "ok" : unsorted.reason).toBe("dmParticipantsInvalid");
  });
});

describe("a DM's participants before the creator is known", () => {
  it("checks the list and key only", () => {
    expect(checkDmParticipants(P.slice(1), conversationKey(P.slice(1)), undefined, 32).ok).toBe(true);
    const unsorted = checkDmParticipants([P[2], P[1]], "", undefined, 32);
    expect(unsorted.ok ? "ok" : unsorted.reason).toBe("dmParticipantsInvalid");
  });
});

describe("a DM group's actor document", () => {
  it("lists the participants with their actors and the key", () => {
    const actors = new Map(
      P.map((acct) => [acct, `https://${acct.split("@")[1]}/users/${acct.slice(5).split("@")[0]}`]),
    );
    expect(dmActorFields(P, actors)).toEqual({
      "mimi:kind": "dm",
      "mimi:conversation": "u7xY8BKxt9fOmoPV-FqyAk18VV-89kAdwCYhk_Z7hdU",
      "mimi:participants": P,
      "mimi:participantActors": {
        "acct:alice@a.example": "https://a.example/users/alice",
        "acct:bob@b.example": "https://b.example/users/bob",
        "acct:carol@c.example": "https://c.example/users/carol",
      },
    });
    expect(() => dmActorFields(P, new Map())).toThrow(/no actor/);
  });
});
