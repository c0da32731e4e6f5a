import { describe, expect, it } from "vitest";
import { formatAcct, handleOf, isLocalUsername, parseAcct } from "../src/index.js";

describe("parseAcct (RFC 7565)", () => {
  it.each([
    ["acct:alice@a.example", { user: "alice", host: "a.example" }],
    ["ACCT:alice@A.Example", { user: "alice", host: "a.example" }],
    ["acct:bob_2@localhost", { user: "bob_2", host: "localhost" }],
    ["acct:carol@localhost:8080", { user: "carol", host: "localhost:8080" }],
    ["acct:jo%2Bsmith@b.test", { user: "jo+smith", host: "b.test" }],
    ["acct:Dave.Smith@c.test", { user: "Dave.Smith", host: "c.test" }],
  ])("parses %s", (input, acct) => {
    expect(parseAcct(input)).toEqual({ ok: true, acct });
  });

  it.each([
    ["alice@a.example", "acct: URI"],
    ["acct:alice", "acct:user@host"],
    ["acct:@a.example", "acct:user@host"],
    ["acct:alice@", "acct:user@host"],
    ["acct:al ice@a.example", "RFC 7565"],
    ["acct:alice@bad_host", "host"],
    ["acct:alice@-a.example", "host"],
    ["acct:alice%ZZ@a.example", "percent-encoding"],
    ["acct:a%40b@c.test", "second @"],
    ["", "acct: URI"],
  ])("rejects %s", (input, reason) => {
    const result = parseAcct(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("accepts the user@host and @user@host shorthands only when lenient", () => {
    expect(parseAcct("@alice@a.test", { lenient: true })).toEqual({
      ok: true,
      acct: { user: "alice", host: "a.test" },
    });
    expect(parseAcct("alice@a.test", { lenient: true })).toEqual({
      ok: true,
      acct: { user: "alice", host: "a.test" },
    });
    expect(parseAcct("@alice@a.test").ok).toBe(false);
  });

  it("formats and names handles", () => {
    expect(formatAcct({ user: "jo+smith", host: "b.test" })).toBe("acct:jo%2Bsmith@b.test");
    expect(handleOf({ user: "alice", host: "a.test" })).toBe("alice@a.test");
    const round = parseAcct(formatAcct({ user: "jo+smith", host: "b.test" }));
    expect(round).toEqual({ ok: true, acct: { user: "jo+smith", host: "b.test" } });
  });

  it("applies the local username policy", () => {
    expect(isLocalUsername("alice_1")).toBe(true);
    expect(isLocalUsername("Alice")).toBe(false);
    expect(isLocalUsername("a".repeat(31))).toBe(false);
    expect(isLocalUsername("")).toBe(false);
  });
});
