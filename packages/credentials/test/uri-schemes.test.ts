import { describe, expect, it } from "vitest";
import { parseAcctUri, parseClientIdUri } from "../src/identifiers.js";

describe("SubjectAltName URI schemes", () => {
  it("reads the acct: and mimi-client: schemes in any case, as RFC 3986 has them", () => {
    expect(parseAcctUri("ACCT:alice@Example.ORG")).toEqual({ user: "alice", domain: "example.org" });
    expect(parseAcctUri("Acct:alice@example.org")).toEqual({ user: "alice", domain: "example.org" });
    expect(parseClientIdUri("MIMI-CLIENT:laptop-1")).toBe("laptop-1");
  });

  it("still refuses other schemes and malformed names", () => {
    expect(parseAcctUri("mailto:alice@example.org")).toBeUndefined();
    expect(parseAcctUri("acct:alice")).toBeUndefined();
    expect(parseAcctUri("acct:al ice@example.org")).toBeUndefined();
    expect(parseClientIdUri("mimi-device:laptop-1")).toBeUndefined();
  });
});
