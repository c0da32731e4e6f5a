import { describe, expect, it } from "vitest";
import {
  canonicalAcct,
  compareCodeUnits,
  conversationKey,
  isParticipantSet,
  participantSet,
} from "../src/index.js";

describe("group DM participant sets", () => {
  it("derives the conversation key the wire profile gives as its example", () => {
    expect(conversationKey(["acct:alice@a.example", "acct:bob@b.example"])).toBe(
      "eqJsEElLULlQaugcQkD48Ioor8-yuae1qWvqPlNBlLk",
    );
  });

  it("makes one set of any spelling, order and repetition of the same accounts", () => {
    const set = participantSet(["@Bob@B.example", "acct:alice@a.example", "bob@b.example"]);
    expect(set).toEqual(["acct:alice@a.example", "acct:bob@b.example"]);
    expect(isParticipantSet(set ?? [])).toBe(true);
    expect(isParticipantSet(["acct:bob@b.example", "acct:alice@a.example"])).toBe(false);
    expect(isParticipantSet(["acct:alice@a.example", "acct:alice@a.example"])).toBe(false);
    expect(participantSet(["alice@a.example", "not an account"])).toBeUndefined();
  });

  it("sorts by code unit and reads one acct canonically", () => {
    expect(["acct:b@x", "acct:B@x", "acct:a@x"].sort(compareCodeUnits)).toEqual([
      "acct:B@x",
      "acct:a@x",
      "acct:b@x",
    ]);
    expect(canonicalAcct("acct:Alice@A.example")).toBe("acct:alice@a.example");
    expect(canonicalAcct("alice@a.example")).toBeUndefined();
  });
});
