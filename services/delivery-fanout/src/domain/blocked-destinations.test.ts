import { describe, expect, it } from "vitest";
import { destinationIsBlocked } from "./blocked-destinations.js";

describe("destinationIsBlocked", () => {
  it("blocks an origin on a blocked domain or below it, and nothing when no domain is blocked", () => {
    const blocked = new Set(["evil.test"]);
    expect(destinationIsBlocked("https://evil.test", blocked)).toBe(true);
    expect(destinationIsBlocked("https://inbox.evil.test:8443", blocked)).toBe(true);
    expect(destinationIsBlocked("https://notevil.test", blocked)).toBe(false);
    expect(destinationIsBlocked("https://evil.test", new Set())).toBe(false);
    expect(destinationIsBlocked("not a url", blocked)).toBe(false);
  });
});
