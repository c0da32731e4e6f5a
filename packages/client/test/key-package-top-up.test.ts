import { beforeAll, describe, expect, it } from "vitest";
import { ProviderApi } from "../src/api.js";
import { KEY_PACKAGE_CHECK_INTERVAL_MS, keyPackageCheckDue } from "../src/device/key-package-pool.js";
import { MimiClient } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

/**
 * Others claim a device's KeyPackages without it knowing; its syncs look at the server's count now and
 * then and upload fresh ones up to the target once the pool is below the threshold.
 */
let network: FakeNetwork;
/** How far the clients' clock runs ahead of the real one (certificates are issued at real time). */
let skewMs = 0;

beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

describe("keyPackageCheckDue", () => {
  it("is due on the first sync and then once per interval", () => {
    expect(keyPackageCheckDue(undefined, 1_000, 600)).toBe(true);
    expect(keyPackageCheckDue(1_000, 1_599, 600)).toBe(false);
    expect(keyPackageCheckDue(1_000, 1_600, 600)).toBe(true);
  });
});

describe("topping up on sync", () => {
  it("refills the pool drained by others' claims, without a request on every sync", async () => {
    const account = await newAccount(network, "olga@a.test");
    const olga = new MimiClient({
      home: account.home,
      fetch: network.fetch,
      keyPackageTarget: 4,
      keyPackageThreshold: 2,
      keyUpdate: false,
      now: () => new Date(Date.now() + skewMs),
    });
    expect((await olga.addDevice("phone")).keyPackages).toMatchObject({ ok: true, available: 4 });
    const claimer = network.createUser("pete@b.test");
    const pete = new ProviderApi({ server: "http://b.test", token: claimer.token, fetch: network.fetch });
    // What the server holds for olga's device, read from the fake itself.
    const available = () =>
      [...(network.user("olga@a.test")?.keyPackages.values() ?? [])].reduce((n, kp) => n + kp.pool.length, 0);
    const drain = async (claims: number) => {
      for (let i = 0; i < claims; i++) await pete.claimKeyPackages("olga@a.test");
    };

    await drain(3);
    expect(available()).toBe(1);
    const counts = () => network.requests.filter((request) => request === "GET a.test/api/v1/keypackages");
    const before = counts().length;
    await olga.sync();
    expect(counts().length).toBe(before + 1);
    expect(available()).toBe(4);

    // Within the interval a sync does not ask again, however low the pool is.
    await drain(3);
    const looked = counts().length;
    await olga.sync();
    await olga.sync();
    expect(counts().length).toBe(looked);
    expect(available()).toBe(1);

    skewMs += KEY_PACKAGE_CHECK_INTERVAL_MS;
    await olga.sync();
    expect(counts().length).toBe(looked + 1);
    expect(available()).toBe(4);
  });

  it("uploads nothing while the pool is at or above the threshold", async () => {
    const account = await newAccount(network, "quinn@a.test");
    const quinn = new MimiClient({
      home: account.home,
      fetch: network.fetch,
      keyPackageTarget: 4,
      keyPackageThreshold: 2,
      keyUpdate: false,
      now: () => new Date(Date.now() + skewMs),
    });
    await quinn.addDevice("phone");
    const uploads = () => network.requests.filter((request) => request === "POST a.test/api/v1/keypackages");
    const before = uploads().length;
    await quinn.sync();
    expect(uploads().length).toBe(before);
  });
});
