import { describe, expect, it } from "vitest";
import { mayOvertake } from "./ordering.js";

describe("mayOvertake", () => {
  it("lets application messages overtake each other", () => {
    expect(mayOvertake(JSON.stringify({ type: "Create", object: { type: "PrivateMessage" } }))).toBe(true);
  });

  it("keeps commits, Welcomes, answers and anything unreadable in order", () => {
    for (const activity of [
      { type: "Add", object: "https://b.test/users/bob" },
      { type: "Create", object: { type: "Welcome" } },
      { type: "Create", object: { type: "Service" } },
      { type: "Accept", object: "https://a.test/1" },
      { type: "Create", object: "https://a.test/note" },
    ]) {
      expect(mayOvertake(JSON.stringify(activity))).toBe(false);
    }
    expect(mayOvertake("not json")).toBe(false);
    expect(mayOvertake("null")).toBe(false);
  });
});
