import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { type KeyResolver, signRequest } from "@mimi/http-signatures";
import { createOutboundHttp } from "@mimi/outbound-http";
import { readConfig } from "@mimi/service-kit";
import { createPgliteSql, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyPackageDirectoryConfigSpec } from "../src/service.js";
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

/** Two actors of one claiming server, c.test, whose keys the directory knows. */
const signers = ["http://c.test/users/mallory", "http://c.test/users/trudy"].map((actor) => ({
  actor,
  ...generateKeyPairSync("rsa", { modulusLength: 2048 }),
}));
const staticKeys: KeyResolver = {
  resolve: async (keyId) => {
    const signer = signers.find((candidate) => `${candidate.actor}#main-key` === keyId);
    return signer
      ? { ok: true, key: { keyId, owner: signer.actor, publicKey: signer.publicKey } }
      : { ok: false, reason: "keyFetchError", detail: `unknown key ${keyId}` };
  },
};

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

async function userWithDevice(p: TestProvider, keyPackages: number) {
  const username = `u_${randomBytes(4).toString("hex")}`;
  const token = await createAccount(p, username);
  const device: TestDevice = await enrolDevice(p, token, username);
  expect((await uploadFresh(p, token, device, keyPackages)).status).toBe(201);
  return { username, token, device };
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: Record<string, unknown>;
}

/** A claim of `username`'s KeyPackages signed by `signer`, sent to the provider at its public host. */
async function signedClaim(p: TestProvider, username: string, signer = signers[0]!): Promise<Answer> {
  const url = `http://a.test/users/${username}/keyPackages/claim`;
  const body = JSON.stringify({ ciphersuites: [1], "mimi:nonce": randomUUID() });
  const headers = signRequest(
    { method: "POST", url, headers: { "content-type": "application/activity+json" }, body },
    { keyId: `${signer.actor}#main-key`, privateKey: signer.privateKey },
  );
  const client = createOutboundHttp({
    production: false,
    connectTo: new Map([["a.test", `127.0.0.1:${new URL(p.base).port}`]]),
  });
  try {
    const res = await client.request(url, { method: "POST", headers, body });
    if (!res.ok) throw new Error(res.detail);
    const retryAfter = res.headers["retry-after"];
    return {
      status: res.status,
      retryAfter: typeof retryAfter === "string" ? retryAfter : undefined,
      body: JSON.parse(Buffer.from(res.body).toString("utf8")) as Record<string, unknown>,
    };
  } finally {
    await client.close();
  }
}

async function available(p: TestProvider, token: string): Promise<number> {
  const counts = await call(`${p.base}/api/v1/keypackages`, { token });
  return (counts.body.clients as Array<{ available: number }>)[0]?.available ?? -1;
}

describe("KeyPackage claim limits", () => {
  it("serve one signer 10 claims of a user, then 429 with Retry-After, leaving the rest of the pool", async () => {
    const p = await provider();
    const carol = await userWithDevice(p, 15);
    const answers: Answer[] = [];
    for (let i = 0; i < 15; i += 1) answers.push(await signedClaim(p, carol.username));
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
      statuses.push((await signedClaim(p, dave.username, signer)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await available(p, dave.token)).toBe(7);
  });

  it("limit one origin's claims whatever the user", async () => {
    const p = await provider({ MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN: "2/60" });
    const users = [await userWithDevice(p, 2), await userWithDevice(p, 2), await userWithDevice(p, 2)];
    const answers = [];
    for (const user of users) answers.push(await signedClaim(p, user.username));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[2]?.body).toMatchObject({ limit: "kp-claim-origin" });
  });

  it("hand a client's last resort to one origin only within its limit, then list the client unavailable", async () => {
    const p = await provider({ MIMI_KEYPACKAGE_LAST_RESORT_LIMIT: "2/3600" });
    const erin = await userWithDevice(p, 0);
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await signedClaim(p, erin.username));
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
