import type { SignedGetResult } from "@mimi/http-signatures";
import { describe, expect, it } from "vitest";
import { fetchFailure } from "../src/adapters/audience-expander.js";

const url = "https://c.test/users/dave";
const status = (code: number): SignedGetResult & { kind: "status" } => ({
  kind: "status",
  status: code,
  permanent: [401, 403, 404, 410].includes(code),
  url,
});

describe("what delivery gives up on after a signed GET", () => {
  it("gives up on refused addresses, bodies too large or not JSON", () => {
    expect(fetchFailure({ kind: "blocked", detail: "blockedAddress: 10.0.0.1" })).toEqual({
      permanent: true,
      detail: "blockedAddress: 10.0.0.1",
    });
    expect(
      fetchFailure({ kind: "failed", reason: "tooLarge", detail: "tooLarge: over 1 MiB" }).permanent,
    ).toBe(true);
    expect(fetchFailure({ kind: "failed", reason: "notJson", detail: "invalid JSON" }).permanent).toBe(true);
  });

  it("tries again after timeouts, refused connections and a key not loaded yet", () => {
    for (const reason of ["timeout", "connectError", "signingKey"] as const) {
      expect(fetchFailure({ kind: "failed", reason, detail: reason }).permanent).toBe(false);
    }
  });

  it("gives up on a 4xx but 401, 408 and 429, and tries again after a 5xx", () => {
    for (const code of [400, 403, 404, 410, 422]) expect(fetchFailure(status(code)).permanent).toBe(true);
    for (const code of [401, 408, 429, 500, 503]) expect(fetchFailure(status(code)).permanent).toBe(false);
    expect(fetchFailure(status(404)).detail).toBe(`HTTP 404 from ${url}`);
  });
});
