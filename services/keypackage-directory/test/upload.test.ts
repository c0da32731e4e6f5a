import { createDomainCa, issueClientCertificate, loadDomainCa } from "@mimi/credentials";
import { generateSignatureKeyPair, loadCiphersuite } from "@mimi/mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  b64,
  call,
  createAccount,
  enrolDevice,
  keyPackageBytes,
  listen,
  startTestProvider,
  type TestDevice,
  type TestProvider,
  uploadFresh,
} from "./harness.js";

let provider: TestProvider;
let aliceToken: string;
let alice: TestDevice;
let aliceTablet: TestDevice;
let bob: TestDevice;

beforeAll(async () => {
  provider = await startTestProvider({ domain: "a.test", listener: await listen() });
  aliceToken = await createAccount(provider, "alice");
  alice = await enrolDevice(provider, aliceToken, "alice", "laptop");
  aliceTablet = await enrolDevice(provider, aliceToken, "alice", "tablet");
  const bobToken = await createAccount(provider, "bob");
  bob = await enrolDevice(provider, bobToken, "bob");
});
afterAll(() => provider.close());

async function storedRows(): Promise<number> {
  const result = await provider.sql.query<{ n: number }>(
    "select count(*)::int as n from keypackages.key_packages",
  );
  return result.rows[0]?.n ?? 0;
}

async function countsOf(clientId: string) {
  const res = await call(`${provider.base}/api/v1/keypackages`, { token: aliceToken });
  expect(res.status).toBe(200);
  const clients = res.body.clients as Array<{ clientId: string; available: number; hasLastResort: boolean }>;
  return clients.find((client) => client.clientId === clientId);
}

/** Uploads two good KeyPackages with `bad` at index 2: the answer must be 400 naming it, and nothing stored. */
async function expectRefused(bad: Uint8Array, reason: string, clientId = alice.clientId) {
  const before = await storedRows();
  const good = [await keyPackageBytes(alice), await keyPackageBytes(alice)];
  const res = await call(`${provider.base}/api/v1/keypackages`, {
    body: { clientId, keyPackages: [...good, bad].map(b64) },
    token: aliceToken,
  });
  expect(res.status).toBe(400);
  expect(res.type).toMatch(/problem\+json/);
  expect(res.body).toMatchObject({ index: 2, reason });
  expect(await storedRows()).toBe(before);
}

describe("upload", () => {
  it("stores a batch and a last resort, and counts them per client", async () => {
    const res = await uploadFresh(provider, aliceToken, alice, 3);
    expect(res.body).toMatchObject({ stored: 4 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ stored: 4, alreadyStored: 0 });
    expect(await countsOf(alice.clientId)).toMatchObject({
      available: 3,
      hasLastResort: true,
      ciphersuites: { MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: 3 },
    });
    expect(await countsOf(aliceTablet.clientId)).toMatchObject({ available: 0, hasLastResort: false });
  });

  it("is idempotent for the same bytes and keeps one last resort per client", async () => {
    const kp = await keyPackageBytes(alice);
    const body = { clientId: alice.clientId, keyPackages: [b64(kp)] };
    expect(
      (await call(`${provider.base}/api/v1/keypackages`, { body, token: aliceToken })).body,
    ).toMatchObject({
      stored: 1,
    });
    expect(
      (await call(`${provider.base}/api/v1/keypackages`, { body, token: aliceToken })).body,
    ).toMatchObject({
      stored: 0,
      alreadyStored: 1,
    });
    const replacement = await keyPackageBytes(alice, { lastResort: true });
    const replaced = await call(`${provider.base}/api/v1/keypackages`, {
      body: { clientId: alice.clientId, lastResort: b64(replacement) },
      token: aliceToken,
    });
    expect(replaced.status).toBe(201);
    const lastResorts = await provider.sql.query<{ n: number }>(
      "select count(*)::int as n from keypackages.key_packages where client_id = $1 and last_resort",
      [alice.clientId],
    );
    expect(lastResorts.rows[0]?.n).toBe(1);
  });

  it("refuses a bad signature", async () => {
    const kp = await keyPackageBytes(alice);
    kp[kp.length - 1] = (kp[kp.length - 1] ?? 0) ^ 0x01;
    await expectRefused(kp, "invalidKeyPackage");
  });

  it("refuses an unsupported ciphersuite", async () => {
    // P-256 needs its own signature key; the suite is refused before the key or credential matter.
    const p256 = await loadCiphersuite("MLS_128_DHKEMP256_AES128GCM_SHA256_P256");
    const device = { ...alice, cs: p256, signatureKeyPair: await generateSignatureKeyPair(p256) };
    await expectRefused(await keyPackageBytes(device), "unsupportedCiphersuite");
  });

  it("refuses an expired lifetime and an overlong one", async () => {
    const longAgo = Math.floor(Date.now() / 1000) - 30 * 86_400;
    await expectRefused(
      await keyPackageBytes(alice, { nowSeconds: longAgo, validForSeconds: 86_400 }),
      "expired",
    );
    await expectRefused(await keyPackageBytes(alice, { validForSeconds: 400 * 86_400 }), "lifetimeTooLong");
  });

  it("refuses credentials naming another user, another client, another domain or an unknown CA", async () => {
    await expectRefused(await keyPackageBytes(bob), "credentialOtherUser");
    await expectRefused(await keyPackageBytes(aliceTablet), "credentialOtherClient");

    const foreignCa = await loadDomainCa(await createDomainCa("b.test"));
    const foreign = await issueClientCertificate(foreignCa, {
      user: "alice",
      domain: "b.test",
      clientId: alice.clientId,
      signaturePublicKey: alice.signatureKeyPair.publicKey,
    });
    await expectRefused(await keyPackageBytes(alice, { chain: foreign.chainDer }), "credentialOtherDomain");

    const impostorCa = await loadDomainCa(await createDomainCa("a.test"));
    const impostor = await issueClientCertificate(impostorCa, {
      user: "alice",
      domain: "a.test",
      clientId: alice.clientId,
      signaturePublicKey: alice.signatureKeyPair.publicKey,
    });
    await expectRefused(await keyPackageBytes(alice, { chain: impostor.chainDer }), "credentialRejected");
  });

  it("refuses a last resort in the pool and a plain KeyPackage as last resort", async () => {
    await expectRefused(await keyPackageBytes(alice, { lastResort: true }), "lastResortInPool");
    const before = await storedRows();
    const res = await call(`${provider.base}/api/v1/keypackages`, {
      body: {
        clientId: alice.clientId,
        keyPackages: [b64(await keyPackageBytes(alice))],
        lastResort: b64(await keyPackageBytes(alice)),
      },
      token: aliceToken,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ index: "lastResort", reason: "notLastResort" });
    expect(await storedRows()).toBe(before);
  });

  it("refuses garbage, oversize batches, other users' clients and missing tokens", async () => {
    await expectRefused(new Uint8Array([1, 2, 3]), "malformed");
    const tooMany = await call(`${provider.base}/api/v1/keypackages`, {
      body: { clientId: alice.clientId, keyPackages: Array.from({ length: 101 }, () => "AAAA") },
      token: aliceToken,
    });
    expect(tooMany.status).toBe(400);
    const foreignClient = await call(`${provider.base}/api/v1/keypackages`, {
      body: { clientId: bob.clientId, keyPackages: [b64(await keyPackageBytes(bob))] },
      token: aliceToken,
    });
    expect(foreignClient.status).toBe(404);
    const anonymous = await call(`${provider.base}/api/v1/keypackages`, {
      body: { clientId: alice.clientId, keyPackages: [] },
    });
    expect(anonymous.status).toBe(401);
  });
});
