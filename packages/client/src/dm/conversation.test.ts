import { describe, expect, it } from "vitest";
import {
  conversationKey,
  conversationLabel,
  participantSet,
  replacesSendingGroup,
  sendingGroup,
  splitParticipants,
} from "./conversation.js";

describe("a conversation's participants", () => {
  it("is the same set whoever starts it and however accts are spelled", () => {
    const fromAlice = participantSet("alice@a.example", ["@Carol@c.example", "bob@B.example"]);
    const fromCarol = participantSet("acct:carol@c.example", [
      "alice@a.example",
      "bob@b.example",
      "bob@b.example",
    ]);
    expect(fromAlice).toEqual(["acct:alice@a.example", "acct:bob@b.example", "acct:carol@c.example"]);
    expect(fromCarol).toEqual(fromAlice);
    expect(conversationKey(fromAlice)).toBe("u7xY8BKxt9fOmoPV-FqyAk18VV-89kAdwCYhk_Z7hdU");
  });

  it("refuses a non-acct and a conversation with oneself alone", () => {
    expect(() => participantSet("alice@a.example", ["bob"])).toThrow(/not an account/);
    expect(() => participantSet("alice@a.example", ["@alice@a.example"])).toThrow(/other participant/);
  });

  it("splits the CLI's comma-separated form", () => {
    expect(splitParticipants("@bob@b.test,carol@c.test")).toEqual(["@bob@b.test", "carol@c.test"]);
    expect(splitParticipants("@bob@b.test")).toEqual(["@bob@b.test"]);
  });

  it("is labelled by the other participants", () => {
    const set = participantSet("alice@a.example", ["bob@b.example", "carol@c.example"]);
    expect(conversationLabel(set, "alice@a.example")).toBe("@bob@b.example,@carol@c.example");
  });
});

describe("two groups for one conversation", () => {
  const a = "https://a.example/channels/Zz";
  const b = "https://b.example/channels/Aa";

  it("sends in the group whose actor URL sorts lowest, whatever order they were learned in", () => {
    expect(sendingGroup([b, a])).toBe(a);
    expect(sendingGroup([a, b])).toBe(a);
    expect(sendingGroup([])).toBeUndefined();
  });

  it("switches only to a lower group", () => {
    expect(replacesSendingGroup(undefined, b)).toBe(true);
    expect(replacesSendingGroup(b, a)).toBe(true);
    expect(replacesSendingGroup(a, b)).toBe(false);
    expect(replacesSendingGroup(a, a)).toBe(false);
  });
});
