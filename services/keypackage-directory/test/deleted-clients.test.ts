import { createMemoryClaimStore } from "@mimi/claims";
import { createPgliteSql, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeAllDeletedClients, startDeletedClientSweep } from "../src/deleted-clients.js";
import { claimDepsOf, claimUserKeyPackages, poolKeyOf } from "../src/service.js";
import {
  call,
  createAccount,
  enrolDevice,
  listen,
  startTestProvider,
  type TestDevice,
  type TestProvider,
  uploadFresh,
} from "./harness.js";

/** A deleted client's KeyPackages: never claimed, then deleted and withdrawn from the claim store. */
let sql: Sql;
let provider: TestProvider;
beforeAll(async () => {
  sql = await createPgliteSql();
  const listener = await listen();
  provider = await startTestProvider({
    domain: "a.test",
    listener,
    sql,
    directory: { claims: createMemoryClaimStore() },
  });
});
afterAll(async () => {
  await provider.close();
  await sql.close();
});

const requester = "http://b.test/users/bob";

async function userWithTwoDevices(username: string) {
  const token = await createAccount(provider, username);
  const kept = await enrolDevice(provider, token, username, "laptop");
  const removed = await enrolDevice(provider, token, username, "phone");
  for (const device of [kept, removed])
    expect((await uploadFresh(provider, token, device, 3)).status).toBe(201);
  return { token, kept, removed };
}

async function deleteDevice(token: string, device: TestDevice) {
  const res = await call(`${provider.base}/api/v1/clients/${device.clientId}`, { method: "DELETE", token });
  expect(res.status).toBe(200);
}

const claim = (username: string) =>
  claimUserKeyPackages(claimDepsOf(provider.directory), { username, ciphersuites: [1], requester });

async function storedRows(clientId: string): Promise<number> {
  const rows = await sql.query<{ n: number }>(
    "select count(*)::int as n from keypackages.key_packages where client_id = $1",
    [clientId],
  );
  return rows.rows[0]?.n ?? -1;
}

const storeCount = (username: string, device: TestDevice) =>
  provider.directory.claims.count(
    poolKeyOf("a.test", { username, clientId: device.clientId, ciphersuite: 1 }),
  );

/** Lets the purge a claim starts after its answer finish. */
async function settled(check: () => Promise<boolean>): Promise<void> {
  for (let round = 0; round < 100 && !(await check()); round++)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("KeyPackages of a deleted client", () => {
  it("are never claimed, and go when a claim finds the client gone", async () => {
    const { token, kept, removed } = await userWithTwoDevices("ines");
    const before = await claim("ines");
    expect(before.ok && before.items.map((item) => item.clientId).sort()).toEqual(
      [kept.clientId, removed.clientId].sort(),
    );
    await deleteDevice(token, removed);
    for (let round = 0; round < 3; round++) {
      const after = await claim("ines");
      expect(after.ok && after.items.map((item) => item.clientId)).toEqual([kept.clientId]);
      expect(after.ok && after.unavailable).toEqual([]);
    }
    await settled(async () => (await storedRows(removed.clientId)) === 0);
    expect(await storedRows(removed.clientId)).toBe(0);
    expect(await storeCount("ines", removed)).toMatchObject({ available: 0 });
    // The kept device keeps its pool: one of three was claimed each time, four claims in all.
    expect(await storedRows(kept.clientId)).toBe(4);
  });

  it("go in the sweep too, which touches nothing of current clients", async () => {
    const { token, kept, removed } = await userWithTwoDevices("jonas");
    await deleteDevice(token, removed);
    const deps = claimDepsOf(provider.directory);
    expect(await purgeAllDeletedClients(deps, 2)).toBe(4); // three and the last resort, in batches of two
    expect(await storedRows(removed.clientId)).toBe(0);
    expect(await storeCount("jonas", removed)).toMatchObject({ available: 0 });
    expect(await storedRows(kept.clientId)).toBe(4);
    expect(await purgeAllDeletedClients(deps)).toBe(0);
    const served = await claim("jonas");
    expect(served.ok && served.items.map((item) => item.clientId)).toEqual([kept.clientId]);
  });

  it("go with the whole account's, and a started sweep stops", async () => {
    const { token, kept, removed } = await userWithTwoDevices("kira");
    await call(`${provider.base}/api/v1/me/delete`, { body: { password: "kira's password" }, token });
    const sweep = startDeletedClientSweep(claimDepsOf(provider.directory), 60_000);
    await settled(async () => (await storedRows(kept.clientId)) === 0);
    await sweep.stop();
    expect(await storedRows(kept.clientId)).toBe(0);
    expect(await storedRows(removed.clientId)).toBe(0);
  });
});
