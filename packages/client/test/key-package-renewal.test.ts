import { beforeAll, describe, expect, it } from "vitest";
import type { StoredKeyPackage } from "../src/account-store.js";
import { KEY_PACKAGE_VALIDITY_SECONDS } from "../src/device/key-package-pool.js";
import { KEY_PACKAGE_RENEW_BEFORE_MS, lastingKeyPackages } from "../src/device/key-package-renewal.js";
import { MimiClient } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

/** KeyPackages about to expire, the last resort included, are replaced before they do. */

const DAY = 24 * 3600 * 1000;
const NOW = Date.parse("2026-06-01T00:00:00.000Z");

function stored(
  id: string,
  expiresInDays: number,
  lastResort = false,
  createdAt = "2026-04-01",
): StoredKeyPackage {
  return {
    id,
    keyPackage: "",
    initPrivateKey: "",
    hpkePrivateKey: "",
    lastResort,
    createdAt: `${createdAt}T00:00:00.000Z`,
    notAfter: new Date(NOW + expiresInDays * DAY).toISOString(),
  };
}

describe("what stays valid long enough", () => {
  it("leaves out pool KeyPackages expiring within the margin, and those of the server only it knows stay", () => {
    const local = [stored("a", 2), stored("b", 30), stored("c", 7)];
    expect(
      lastingKeyPackages(
        { available: 4, hasLastResort: true, keyPackageIds: ["a", "b", "c", "x"] },
        local,
        NOW,
      ),
    ).toEqual({ available: 2, hasLastResort: true });
    // Without the server's ids nothing can be told apart: the count stands.
    expect(lastingKeyPackages({ available: 4, hasLastResort: true }, local, NOW)).toEqual({
      available: 4,
      hasLastResort: true,
    });
  });

  it("counts the last resort gone when the newest one expires within the margin", () => {
    const old = stored("lr-old", 1, true, "2026-01-01");
    const fresh = stored("lr-new", 50, true, "2026-05-01");
    expect(lastingKeyPackages({ available: 5, hasLastResort: true }, [old], NOW).hasLastResort).toBe(false);
    expect(lastingKeyPackages({ available: 5, hasLastResort: true }, [old, fresh], NOW).hasLastResort).toBe(
      true,
    );
    expect(lastingKeyPackages({ available: 5, hasLastResort: false }, [fresh], NOW).hasLastResort).toBe(
      false,
    );
    expect(
      lastingKeyPackages({ available: 5, hasLastResort: true }, [stored("lr", 8, true)], NOW).hasLastResort,
    ).toBe(true);
  });
});

describe("a top-up near the end of the KeyPackages' life", () => {
  let network: FakeNetwork;
  beforeAll(async () => {
    network = await FakeNetwork.create(["a.test"]);
  });

  it("uploads a new last resort in time, and not before", async () => {
    const account = await newAccount(network, "rita@a.test");
    expect((await account.client.addDevice("laptop")).keyPackages.ok).toBe(true);
    const at = (ms: number) =>
      new MimiClient({
        home: account.home,
        fetch: network.fetch,
        keyPackageTarget: 3,
        keyPackageThreshold: 2,
        now: () => new Date(Date.now() + ms),
      });
    const lifeMs = KEY_PACKAGE_VALIDITY_SECONDS * 1000;

    const early = await at(lifeMs / 2).replenishKeyPackages();
    expect(early.uploaded).toBe(0);

    const late = await at(lifeMs - KEY_PACKAGE_RENEW_BEFORE_MS + DAY).replenishKeyPackages();
    expect(late.uploaded).toBe(1);
    expect(late.hasLastResort).toBe(true);
    // The new one lasts: the next look uploads nothing.
    expect((await at(lifeMs - KEY_PACKAGE_RENEW_BEFORE_MS + DAY).replenishKeyPackages()).uploaded).toBe(0);
  });
});
