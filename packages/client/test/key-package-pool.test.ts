import { describe, expect, it } from "vitest";
import type { StoredKeyPackage } from "../src/account-store.js";
import { keyPackageId, topUpPlan, unexpiredKeyPackages } from "../src/device/key-package-pool.js";

const limits = { target: 10, threshold: 5 };

describe("topping up a device's KeyPackages", () => {
  it("refills the pool to the target only once fewer than the threshold are left", () => {
    expect(topUpPlan({ available: 5, hasLastResort: true }, limits)).toEqual({ pool: 0, lastResort: false });
    expect(topUpPlan({ available: 4, hasLastResort: true }, limits)).toEqual({ pool: 6, lastResort: false });
    expect(topUpPlan({ available: 0, hasLastResort: true }, limits)).toEqual({ pool: 10, lastResort: false });
  });

  it("never plans a negative count when the target is set below the threshold", () => {
    const inverted = { target: 2, threshold: 5 };
    expect(topUpPlan({ available: 4, hasLastResort: true }, inverted)).toEqual({
      pool: 1,
      lastResort: false,
    });
    expect(topUpPlan({ available: 0, hasLastResort: true }, inverted)).toEqual({
      pool: 5,
      lastResort: false,
    });
  });

  it("adds a last-resort KeyPackage whenever the server holds none", () => {
    expect(topUpPlan({ available: 7, hasLastResort: false }, limits)).toEqual({ pool: 0, lastResort: true });
    expect(topUpPlan({ available: 0, hasLastResort: false }, limits)).toEqual({ pool: 10, lastResort: true });
  });

  it("keeps the private parts of unexpired KeyPackages only", () => {
    const stored = (id: string, notAfter: string): StoredKeyPackage => ({
      id,
      keyPackage: "",
      initPrivateKey: "",
      hpkePrivateKey: "",
      lastResort: false,
      createdAt: "2026-01-01T00:00:00.000Z",
      notAfter,
    });
    const kept = unexpiredKeyPackages(
      [stored("old", "2026-02-01T00:00:00.000Z"), stored("fresh", "2026-04-01T00:00:00.000Z")],
      "2026-03-01T00:00:00.000Z",
    );
    expect(kept.map((keyPackage) => keyPackage.id)).toEqual(["fresh"]);
  });

  it("names a KeyPackage by the SHA-256 of its bytes, as the directory does", async () => {
    // SHA-256 of the empty string.
    expect(await keyPackageId(new Uint8Array())).toBe("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  });
});
