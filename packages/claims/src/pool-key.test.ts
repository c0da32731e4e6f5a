import { describe, expect, it } from "vitest";
import { checkKeyPackageIds, checkPoolKey, poolBaseKey, poolRedisKeys } from "./pool-key";

const alice = { user: "alice@a.example", client: "phone", ciphersuite: 1 };

describe("checkPoolKey", () => {
  it("accepts a normal pool", () => {
    expect(checkPoolKey(alice)).toEqual({ ok: true });
  });

  it.each([
    [{ ...alice, user: "" }, /user is empty/],
    [{ ...alice, client: "" }, /client is empty/],
    [{ ...alice, user: "al{ice}@a.example" }, /braces/],
    [{ ...alice, client: "ph\none" }, /control/],
    [{ ...alice, user: "a".repeat(513) }, /longer/],
    [{ ...alice, ciphersuite: 0 }, /ciphersuite/],
    [{ ...alice, ciphersuite: 65536 }, /ciphersuite/],
    [{ ...alice, ciphersuite: 1.5 }, /ciphersuite/],
  ])("refuses %j", (pool, reason) => {
    const check = checkPoolKey(pool);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(reason);
  });
});

describe("checkKeyPackageIds", () => {
  it("accepts ids and refuses empty or oversized ones", () => {
    expect(checkKeyPackageIds(["kp-1", "kp-2"])).toEqual({ ok: true });
    expect(checkKeyPackageIds(["kp-1", ""])).toEqual({ ok: false, reason: "a KeyPackage id is empty" });
    expect(checkKeyPackageIds(["x".repeat(513)]).ok).toBe(false);
  });
});

describe("pool keys", () => {
  it("hash-tags the user and keeps the ciphersuite last", () => {
    expect(poolBaseKey("mimi:kp:", alice)).toBe("mimi:kp:{alice@a.example}:phone:1");
    expect(poolRedisKeys("mimi:kp:", alice)).toEqual({
      available: "mimi:kp:{alice@a.example}:phone:1:available",
      lastResort: "mimi:kp:{alice@a.example}:phone:1:last-resort",
    });
  });
});
