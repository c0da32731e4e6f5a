import { readConfig } from "@mimi/service-kit";
import { createPgliteSql, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyPackageDirectoryConfigSpec } from "../src/service.js";
import {
  available,
  type ClaimAnswer,
  call,
  claimSignedBy,
  listen,
  startTestProvider,
  type TestProvider,
  testSigners,
  userWithDevice,
} from "./harness.js";

/** Two actors of one claiming server, c.test, whose keys the directory knows. */
const { signers, keys: staticKeys } = testSigners([
  "http://c.test/users/mallory",
  "http://c.test/users/trudy",
]);

let sql: Sql;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  sql = await createPgliteSql();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await sql.close();
});

/** a.test with the claim limits `env` sets (the defaults for the rest). */
async function provider(env: Record<string, string> = {}): Promise<TestProvider> {
  const listener = await listen();
  const started = await startTestProvider({
    domain: "a.test",
    listener,
    sql,
    connectTo: `a.test=127.0.0.1:${listener.port}`,
    directory: { keys: staticKeys, settings: readConfig(keyPackageDirectoryConfigSpec, env) },
  });
  closers.push(() => started.close());
  return started;
}

describe("KeyPackage claim limits", () => {
  it("serve one signer 10 claims of a user, then 429 with Retry-After, leaving the rest of the pool", async () => {
    const p = await provider();
    const carol = await userWithDevice(p, 15);
    const answers: ClaimAnswer[] = [];
    for (let i = 0; i < 15; i += 1) answers.push(await claimSignedBy(p, carol.username, signers[0]!));
    expect(answers.map((answer) => answer.status)).toEqual([...Array(10).fill(200), ...Array(5).fill(429)]);
    const refused = answers[14]!;
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ reason: "rateLimited", limit: "kp-claim-pair" });
    expect(await available(p, carol.token)).toBe(5);
  });

  it("count all actors of one origin together for one user", async () => {
    const p = await provider({ MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN_TARGET: "3/3600" });
    const dave = await userWithDevice(p, 10);
    const statuses = [];
    for (const signer of [signers[0]!, signers[1]!, signers[0]!, signers[1]!])
      statuses.push((await claimSignedBy(p, dave.username, signer)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await available(p, dave.token)).toBe(7);
  });

  it("limit one origin's claims whatever the user", async () => {
    const p = await provider({ MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN: "2/60" });
    const users = [await userWithDevice(p, 2), await userWithDevice(p, 2), await userWithDevice(p, 2)];
    const answers = [];
    for (const user of users) answers.push(await claimSignedBy(p, user.username, signers[0]!));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[2]?.body).toMatchObject({ limit: "kp-claim-origin" });
  });

  it("hand a client's last resort to one origin only within its limit, then list the client unavailable", async () => {
    const p = await provider({ MIMI_KEYPACKAGE_LAST_RESORT_LIMIT: "2/3600" });
    const erin = await userWithDevice(p, 0);
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await claimSignedBy(p, erin.username, signers[0]!));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const items = answers.map((answer) => answer.body.items as Array<Record<string, unknown>>);
    expect(items.map((list) => list.length)).toEqual([1, 1, 0, 0]);
    expect(items[0]?.[0]).toMatchObject({ "mimi:lastResort": true });
    expect(answers[3]?.body["mimi:unavailable"]).toEqual([
      expect.objectContaining({ "mimi:client": erin.device.clientId, "mimi:reason": "noKeyPackages" }),
    ]);
    // Another origin still gets it: the limit is per requesting origin.
    const local = await call(`${p.base}/api/v1/keypackages/claim`, {
      body: { acct: `${erin.username}@a.test` },
      token: (await userWithDevice(p, 0)).token,
    });
    expect((local.body.items as unknown[]).length).toBe(1);
  });

  it("limit a local user's client API claims of one user", async () => {
    const p = await provider();
    const bob = await userWithDevice(p, 12);
    const claimer = await userWithDevice(p, 0);
    const statuses = [];
    for (let i = 0; i < 12; i += 1) {
      const res = await call(`${p.base}/api/v1/keypackages/claim`, {
        body: { acct: `${bob.username}@a.test` },
        token: claimer.token,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(10).fill(200), 429, 429]);
    expect(await available(p, bob.token)).toBe(2);
  });
});
