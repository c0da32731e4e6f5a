import { beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_RENEW_BEFORE_MS, credentialRenewalDue } from "../src/device/credential-renewal.js";
import { MimiClient } from "../src/mimi-client.js";
import { readKeyPackageBytes } from "../src/mls-wire.js";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount } from "./helpers.js";

/** A device renews its credential before it expires too soon for the KeyPackages made with it. */

const DAY = 24 * 3600 * 1000;

describe("when a credential is renewed", () => {
  it("once less than a KeyPackage's life and the margin is left, or when its expiry cannot be read", () => {
    const now = Date.parse("2026-06-01T00:00:00.000Z");
    const at = (ms: number) => new Date(now + ms).toISOString();
    expect(CREDENTIAL_RENEW_BEFORE_MS).toBe(67 * DAY);
    expect(credentialRenewalDue(at(90 * DAY), now)).toBe(false);
    expect(credentialRenewalDue(at(67 * DAY), now)).toBe(false);
    expect(credentialRenewalDue(at(67 * DAY - 1), now)).toBe(true);
    expect(credentialRenewalDue(at(-DAY), now)).toBe(true);
    expect(credentialRenewalDue("not a date", now)).toBe(true);
  });
});

describe("a device's top-up", () => {
  let network: FakeNetwork;
  beforeAll(async () => {
    network = await FakeNetwork.create(["a.test"]);
  });

  it("renews the credential with the same key when it is due, and uploads KeyPackages carrying it", async () => {
    const account = await newAccount(network, "sana@a.test");
    const registered = await account.client.addDevice("laptop");
    const clientAt = (ms: number) =>
      new MimiClient({
        home: account.home,
        fetch: network.fetch,
        keyPackageTarget: 3,
        keyPackageThreshold: 2,
        now: () => new Date(Date.now() + ms),
      });
    const before = await account.client.device();
    if (!before) throw new Error("no device");

    await clientAt(0).replenishKeyPackages();
    expect((await account.client.device())?.credentialChain).toEqual(before.credentialChain);

    // Near the end of its life (as the device's clock sees it): renewed, same signature key.
    const late = clientAt(Date.parse(registered.credentialNotAfter) - Date.now() - 30 * DAY);
    await late.replenishKeyPackages({ force: true });
    const after = await account.client.device();
    expect(after?.signaturePublicKey).toBe(before.signaturePublicKey);
    expect(after?.credentialChain).not.toEqual(before.credentialChain);
    // The KeyPackages uploaded then carry the renewed credential.
    const newest = after?.keyPackages.at(-1);
    expect(newest).toBeDefined();
    const read = readKeyPackageBytes(Buffer.from(newest?.keyPackage ?? "", "base64"));
    if (!read.ok) throw new Error(read.detail);
    const credential = read.keyPackage.leafNode.credential;
    expect(credential.credentialType).toBe("x509");
    if (credential.credentialType !== "x509") return;
    expect(Buffer.from(credential.certificates[0] ?? []).toString("base64")).toBe(after?.credentialChain[0]);
  });
});
