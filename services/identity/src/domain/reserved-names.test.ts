import { describe, expect, it } from "vitest";
import { reservedUsernames } from "./reserved-names.js";

describe("reserved usernames", () => {
  it("holds the role names, the operator's additions, and the instance actor's name", () => {
    const names = reservedUsernames("localhost", ["Helpdesk"]);
    for (const name of [
      "admin",
      "root",
      "postmaster",
      "abuse",
      "security",
      "support",
      "hostmaster",
      "webmaster",
      "helpdesk",
      "localhost",
    ])
      expect(names.has(name)).toBe(true);
    expect(names.has("alice")).toBe(false);
  });

  it("adds a domain with a dot to nothing: it cannot be a username anyway", () => {
    const names = reservedUsernames("a.test");
    expect(names.has("a.test")).toBe(false);
    expect(names.has("admin")).toBe(true);
  });
});
