import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:net";
import {
  type ClaimStore,
  createMemoryClaimStore,
  createMemoryReplayGuard,
  createRedisClaimStore,
} from "@mimi/claims";
import { type KeyResolver, signRequest } from "@mimi/http-signatures";
import { decodeKeyPackage, readKeyPackage } from "@mimi/mls";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import { readConfig } from "@mimi/service-kit";
import { createPgliteSql, createPgSql, type Sql } from "@mimi/store";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimDepsOf,
  claimUserKeyPackages,
  createClaimStateFor,
  type KeyPackageDirectoryContext,
  keyPackageDirectoryConfigSpec,
  keyPackageIdOf,
  poolKeyOf,
} from "../src/service.js";
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

/** The claiming server: a key the directory's resolver knows (key fetching is covered in federation.test). */
const remoteActor = "http://c.test/actor";
const remoteKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const staticKeys: KeyResolver = {
  resolve: async (keyId) =>
    keyId === `${remoteActor}#main-key`
      ? { ok: true, key: { keyId, owner: remoteActor, publicKey: remoteKey.publicKey } }
      : { ok: false, reason: "keyFetchError", detail: `unknown key ${keyId}` },
};

let sql: Sql;
let http: OutboundHttp;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  sql = await createPgliteSql();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await http?.close();
  await sql.close();
});

/**
 * A provider for a.test on the shared database with the given claim store (or, without one, the claim
 * state its settings choose).
 */
async function providerWith(
  claims: ClaimStore | undefined,
  database: Sql = sql,
  directory: Partial<KeyPackageDirectoryContext> = {},
): Promise<TestProvider> {
  const listener = await listen();
  const provider = await startTestProvider({
    domain: "a.test",
    listener,
    sql: database,
    connectTo: `a.test=127.0.0.1:${listener.port}`,
    directory: { ...(claims ? { claims } : {}), keys: staticKeys, ...directory },
  });
  closers.push(() => provider.close());
  http ??= createOutboundHttp({
    production: false,
    connectTo: new Map([["a.test", `127.0.0.1:${listener.port}`]]),
  });
  return provider;
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no port");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

let userCounter = 0;
async function userWithDevices(provider: TestProvider, devices: number) {
  userCounter += 1;
  const username = `user${userCounter}_${randomBytes(3).toString("hex")}`;
  const token = await createAccount(provider, username);
  const enrolled: TestDevice[] = [];
  for (let i = 0; i < devices; i++) enrolled.push(await enrolDevice(provider, token, username, `device${i}`));
  return { username, token, devices: enrolled };
}

/** A claim POST signed by the remote key, ready to send (and to send again, as a replay would). */
interface SignedClaim {
  url: string;
  headers: Record<string, string>;
  text: string;
}

/**
 * Signs a claim for `username`. Each signature is answered once, so by default the body carries a
 * fresh nonce (as this provider's own claims do); `exactBody` signs the body as given.
 */
function signClaim(
  username: string,
  body: unknown,
  options: { sign?: boolean; exactBody?: boolean; signedAt?: Date } = {},
): SignedClaim {
  const url = `http://a.test/users/${username}/keyPackages/claim`;
  const nonced =
    options.exactBody || typeof body !== "object" || body === null
      ? body
      : { ...body, "mimi:nonce": randomUUID() };
  const text = JSON.stringify(nonced);
  const headers = { "content-type": "application/activity+json" };
  return {
    url,
    text,
    headers:
      options.sign === false
        ? headers
        : signRequest(
            { method: "POST", url, headers, body: text },
            { keyId: `${remoteActor}#main-key`, privateKey: remoteKey.privateKey },
            options.signedAt ? { now: options.signedAt } : {},
          ),
  };
}

async function sendClaim(provider: TestProvider, claim: SignedClaim) {
  // The test reaches the provider at its public host through the connectTo mapping, so Host is a.test.
  const port = new URL(provider.base).port;
  const client = createOutboundHttp({
    production: false,
    connectTo: new Map([["a.test", `127.0.0.1:${port}`]]),
    // Hundreds of concurrent claims on a busy machine can wait past the default budget; the tests
    // check what is answered, not how fast.
    totalTimeoutMs: 120_000,
  });
  try {
    const res = await client.request(claim.url, { method: "POST", headers: claim.headers, body: claim.text });
    if (!res.ok) throw new Error(res.detail);
    return {
      status: res.status,
      type: String(res.headers["content-type"] ?? ""),
      retryAfter: res.headers["retry-after"],
      body: JSON.parse(Buffer.from(res.body).toString("utf8")) as Record<string, unknown>,
    };
  } finally {
    await client.close();
  }
}

async function signedClaim(
  provider: TestProvider,
  username: string,
  body: unknown,
  options: { sign?: boolean } = {},
) {
  return sendClaim(provider, signClaim(username, body, options));
}

interface Item {
  type: string;
  content: string;
  ciphersuite: string;
  "mimi:client": string;
  "mimi:lastResort"?: boolean;
}

describe("signed claims", () => {
  let provider: TestProvider;
  beforeAll(async () => {
    provider = await providerWith(createMemoryClaimStore());
  });

  it("serves one KeyPackage per client, each once, then the last resort", async () => {
    const user = await userWithDevices(provider, 2);
    expect((await uploadFresh(provider, user.token, user.devices[0]!, 1)).status).toBe(201);
    expect((await uploadFresh(provider, user.token, user.devices[1]!, 1)).status).toBe(201);

    const first = await signedClaim(provider, user.username, {
      ciphersuites: ["MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"],
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ type: "Collection", totalItems: 2, "mimi:unavailable": [] });
    const items = first.body.items as Item[];
    expect(new Set(items.map((item) => item["mimi:client"]))).toEqual(
      new Set(user.devices.map((d) => d.clientId)),
    );
    for (const item of items) {
      expect(item).toMatchObject({
        type: "KeyPackage",
        mediaType: "message/mls",
        encoding: "base64",
        ciphersuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
      });
      expect(item["mimi:lastResort"]).toBeUndefined();
      const decoded = decodeKeyPackage(new Uint8Array(Buffer.from(item.content, "base64")));
      expect(decoded.ok && readKeyPackage(decoded.keyPackage).lastResort).toBe(false);
    }

    const second = await signedClaim(provider, user.username, { ciphersuites: [1] });
    const again = second.body.items as Item[];
    expect(again).toHaveLength(2);
    expect(again.every((item) => item["mimi:lastResort"] === true)).toBe(true);
    expect(again.map((item) => item.content)).not.toContain(items[0]?.content);
  });

  it("answers 401 unsigned, 400 bad body, 404 unknown user", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 1);
    const unsigned = await signedClaim(provider, user.username, { ciphersuites: [1] }, { sign: false });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.reason).toBe("missingSignature");
    expect((await signedClaim(provider, user.username, { suites: [1] })).status).toBe(400);
    expect((await signedClaim(provider, user.username, { ciphersuites: [] })).status).toBe(400);
    expect((await signedClaim(provider, "nobody", { ciphersuites: [1] })).status).toBe(404);
    // Nothing was consumed by the refused requests.
    const counts = await call(`${provider.base}/api/v1/keypackages`, { token: user.token });
    expect(counts.body.clients).toEqual([expect.objectContaining({ available: 1, hasLastResort: true })]);
  });

  it("refuses claim bodies of another media type, compressed or too large before reading them", async () => {
    const url = `${provider.base}/users/nobody/keyPackages/claim`;
    const post = (headers: Record<string, string>, body: string | Uint8Array) =>
      fetch(url, { method: "POST", headers, body }).then(async (res) => ({
        status: res.status,
        type: res.headers.get("content-type"),
        body: await res.text(),
      }));
    const json = { "content-type": "application/activity+json" };
    expect((await post({ "content-type": "text/plain" }, "{}")).status).toBe(415);
    expect((await post({ ...json, "content-encoding": "gzip" }, "{}")).status).toBe(415);
    const tooLarge = await post(json, JSON.stringify({ ciphersuites: [1], pad: "x".repeat(17 * 1024) }));
    expect(tooLarge).toMatchObject({
      status: 413,
      type: expect.stringContaining("application/problem+json"),
    });
    // Within the limit, the body is read and the signature is checked first.
    expect((await post(json, JSON.stringify({ ciphersuites: [1] }))).status).toBe(401);
  });

  it("gives no item, with the reason, to clients that only have unrequested suites", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 2);
    const res = await signedClaim(provider, user.username, {
      ciphersuites: ["MLS_128_DHKEMP256_AES128GCM_SHA256_P256", "NOT_A_SUITE"],
    });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
    expect(res.body["mimi:unavailable"]).toEqual([
      expect.objectContaining({
        "mimi:client": user.devices[0]!.clientId,
        "mimi:reason": "noKeyPackageInRequestedCiphersuites",
      }),
    ]);
    const exhausted = await userWithDevices(provider, 1);
    const none = await signedClaim(provider, exhausted.username, { ciphersuites: [1] });
    expect(none.body["mimi:unavailable"]).toEqual([
      expect.objectContaining({ "mimi:reason": "noKeyPackages" }),
    ]);
  });

  it("lists counts and ids, never contents", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 3);
    const listing = await call(`${provider.base}/users/${user.username}/keyPackages`);
    expect(listing.status).toBe(200);
    expect(listing.body).toMatchObject({ type: "Collection", totalItems: 3 });
    const clients = listing.body["mimi:clients"] as Array<Record<string, unknown>>;
    expect(clients[0]).toMatchObject({ "mimi:available": 3, "mimi:lastResort": true });
    expect(clients[0]?.["mimi:keyPackageIds"]).toHaveLength(3);
    expect(JSON.stringify(listing.body)).not.toContain("content");
    expect((await call(`${provider.base}/users/nobody/keyPackages`)).status).toBe(404);
  });

  it("rebuilds a lost claim store from SQL and never serves a claimed KeyPackage again", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 4);
    const first = await signedClaim(provider, user.username, { ciphersuites: [1] });
    const served = (first.body.items as Item[]).map((item) => item.content);

    // A new, empty store over the same SQL: what a Redis restart leaves behind.
    const restarted = { ...claimDepsOf(provider.directory), claims: createMemoryClaimStore() };
    const seen = new Set(served);
    for (let i = 0; i < 3; i++) {
      const outcome = await claimUserKeyPackages(restarted, {
        username: user.username,
        ciphersuites: [1],
        requester: remoteActor,
      });
      if (!outcome.ok) throw new Error("the user exists");
      const item = outcome.items[0]!;
      expect(item.lastResort).toBe(false);
      const content = Buffer.from(item.content).toString("base64");
      expect(seen.has(content)).toBe(false);
      seen.add(content);
    }
    const last = await claimUserKeyPackages(restarted, {
      username: user.username,
      ciphersuites: [1],
      requester: remoteActor,
    });
    expect(last.ok && last.items[0]?.lastResort).toBe(true);
    await restarted.claims.close();
  });

  it("serves single-use KeyPackages SQL holds when the store only knows the last resort", async () => {
    const user = await userWithDevices(provider, 1);
    const device = user.devices[0]!;
    await uploadFresh(provider, user.token, device, 2);
    // A store that lost the single-use ids but kept the last resort (e.g. an upload's store update failed).
    const partial = { ...claimDepsOf(provider.directory), claims: createMemoryClaimStore() };
    const pool = { username: user.username, clientId: device.clientId, ciphersuite: 1 };
    const lastResortId = (
      await sql.query<{ id: string }>(
        "select id from keypackages.key_packages where client_id = $1 and last_resort",
        [device.clientId],
      )
    ).rows[0]!.id;
    await partial.claims.setLastResort(poolKeyOf("a.test", pool), lastResortId);
    const request = { username: user.username, ciphersuites: [1], requester: remoteActor };
    const served: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await claimUserKeyPackages(partial, request);
      served.push(outcome.ok && outcome.items[0]?.lastResort === false);
    }
    expect(served).toEqual([true, true, false]);
    await partial.claims.close();
  });

  it("never serves again an id the store re-learned after it was claimed", async () => {
    const user = await userWithDevices(provider, 1);
    const device = user.devices[0]!;
    await uploadFresh(provider, user.token, device, 2);
    const first = await signedClaim(provider, user.username, { ciphersuites: [1] });
    const firstItem = (first.body.items as Item[])[0]!;
    const pool = poolKeyOf("a.test", { username: user.username, clientId: device.clientId, ciphersuite: 1 });
    // The claimed id goes back to the front of the store's pool (as a stale rebuild could leave it).
    const remaining = await provider.directory.claims.claim(pool);
    await provider.directory.claims.add(pool, [
      keyPackageIdOf(new Uint8Array(Buffer.from(firstItem.content, "base64"))),
      remaining!.keyPackageId,
    ]);
    const second = (await signedClaim(provider, user.username, { ciphersuites: [1] })).body.items as Item[];
    expect(second[0]?.content).not.toBe(firstItem.content);
    expect(second[0]?.["mimi:lastResort"]).toBeUndefined();
    const third = (await signedClaim(provider, user.username, { ciphersuites: [1] })).body.items as Item[];
    expect(third[0]?.["mimi:lastResort"]).toBe(true);
  });

  it("follows the user's clients as they change, though it remembers them between claims", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 3);
    const claimClients = async () => {
      const res = await signedClaim(provider, user.username, { ciphersuites: [1] });
      const items = res.body.items as Item[];
      const unavailable = res.body["mimi:unavailable"] as Array<Record<string, string>>;
      return {
        served: items.map((item) => item["mimi:client"]).sort(),
        unavailable: unavailable.map((entry) => entry["mimi:client"]),
      };
    };
    expect(await claimClients()).toEqual({ served: [user.devices[0]!.clientId], unavailable: [] });

    // A device enrolled after the user's clients were remembered is served on the next claim.
    const added = await enrolDevice(provider, user.token, user.username, "added");
    await uploadFresh(provider, user.token, added, 1);
    expect(await claimClients()).toEqual({
      served: [user.devices[0]!.clientId, added.clientId].sort(),
      unavailable: [],
    });
    // A device enrolled without KeyPackages is reported, not skipped.
    const bare = await enrolDevice(provider, user.token, user.username, "bare");
    expect((await claimClients()).unavailable).toEqual([bare.clientId]);

    // A removed device is never served again, although its pool is still in the claim store.
    await sql.query("delete from identity.clients where id = $1", [user.devices[0]!.clientId]);
    const afterRemoval = await claimClients();
    expect(afterRemoval.served).toEqual([added.clientId]);
    expect(afterRemoval.unavailable).toEqual([bare.clientId]);

    // A deleted account is unknown, even though it was remembered.
    await sql.query("delete from identity.accounts where username = $1", [user.username]);
    expect((await signedClaim(provider, user.username, { ciphersuites: [1] })).status).toBe(404);
    const direct = await claimUserKeyPackages(claimDepsOf(provider.directory), {
      username: user.username,
      ciphersuites: [1],
      requester: remoteActor,
    });
    expect(direct).toEqual({ ok: false, reason: "unknownUser" });
  });
});

describe("replayed signed claims", () => {
  let provider: TestProvider;
  beforeAll(async () => {
    provider = await providerWith(createMemoryClaimStore());
  });

  async function available(token: string): Promise<number> {
    const counts = await call(`${provider.base}/api/v1/keypackages`, { token });
    return (counts.body.clients as Array<{ available: number }>)[0]?.available ?? -1;
  }

  it("serve a signature once: its replay gets 401 replayedRequest and takes nothing", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 3);
    const claim = signClaim(user.username, { ciphersuites: [1] });

    const first = await sendClaim(provider, claim);
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([expect.not.objectContaining({ "mimi:lastResort": true })]);
    expect(await available(user.token)).toBe(2);

    const replay = await sendClaim(provider, claim);
    expect(replay.status).toBe(401);
    expect(replay.type).toContain("application/problem+json");
    expect(replay.body).toMatchObject({ status: 401, reason: "replayedRequest" });
    expect(await available(user.token)).toBe(2);
  });

  it("let exactly one of concurrent copies of a signed claim through", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 5);
    const claim = signClaim(user.username, { ciphersuites: [1] });
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendClaim(provider, claim)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array(9).fill(401)]);
    expect(await available(user.token)).toBe(4);
  });

  it("serve two different signatures of the same claim by the same key", async () => {
    const user = await userWithDevices(provider, 1);
    await uploadFresh(provider, user.token, user.devices[0]!, 3);
    const body = { ciphersuites: [1] };
    const now = Date.now();
    const first = signClaim(user.username, body, { exactBody: true, signedAt: new Date(now - 1000) });
    const second = signClaim(user.username, body, { exactBody: true, signedAt: new Date(now) });
    expect(first.text).toBe(second.text);
    const answers = [await sendClaim(provider, first), await sendClaim(provider, second)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    const contents = answers.map((answer) => (answer.body.items as Item[])[0]?.content);
    expect(new Set(contents).size).toBe(2);
    expect(await available(user.token)).toBe(1);
  });

  it("answer 503 with Retry-After when the in-memory guard is full, and leave bearer claims alone", async () => {
    const full = await providerWith(createMemoryClaimStore(), sql, {
      replayGuard: createMemoryReplayGuard({ maxEntries: 1 }),
    });
    const user = await userWithDevices(full, 1);
    await uploadFresh(full, user.token, user.devices[0]!, 4);
    expect((await signedClaim(full, user.username, { ciphersuites: [1] })).status).toBe(200);
    const refused = await signedClaim(full, user.username, { ciphersuites: [1] });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ reason: "replayGuardFull" });
    expect(Number(refused.retryAfter)).toBeGreaterThan(3600);
    // Client claims carry no signature, so the guard is not asked: served although it is full, twice.
    for (let i = 0; i < 2; i++) {
      const local = await call(`${full.base}/api/v1/keypackages/claim`, {
        body: { acct: `${user.username}@a.test` },
        token: user.token,
      });
      expect(local.status).toBe(200);
    }
    const counts = await call(`${full.base}/api/v1/keypackages`, { token: user.token });
    expect(counts.body.clients).toEqual([expect.objectContaining({ available: 1 })]);
  });
});

describe("claim state unreachable", () => {
  it("answers 503 with Retry-After, for signed and client claims, and hands out nothing", async () => {
    const provider = await providerWith(createMemoryClaimStore());
    const user = await userWithDevices(provider, 1);
    expect((await uploadFresh(provider, user.token, user.devices[0]!, 2)).status).toBe(201);
    // The running provider's claim state is swapped for one whose Redis cannot be reached, as
    // `REDIS_URL` and the command timeout configure it.
    const settings = readConfig(keyPackageDirectoryConfigSpec, {
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      MIMI_KEYPACKAGE_REDIS_COMMAND_TIMEOUT_MS: "200",
    });
    const down = createClaimStateFor(settings);
    closers.push(() => down.close());
    provider.directory.claims = down.claims;
    provider.directory.replayGuard = down.replayGuard;

    const signed = await signedClaim(provider, user.username, { ciphersuites: [1] });
    expect(signed.status).toBe(503);
    expect(signed.type).toContain("application/problem+json");
    expect(signed.retryAfter).toBe("5");
    expect(signed.body).toMatchObject({ status: 503, reason: "claimStateUnavailable" });

    // A working guard in front of the unreachable claim store: the claim itself answers 503.
    provider.directory.replayGuard = createMemoryReplayGuard();
    const signedPastGuard = await signedClaim(provider, user.username, { ciphersuites: [1] });
    expect(signedPastGuard.status).toBe(503);
    expect(signedPastGuard.body).toMatchObject({ reason: "claimStateUnavailable" });

    const local = await call(`${provider.base}/api/v1/keypackages/claim`, {
      body: { acct: `${user.username}@a.test` },
      token: user.token,
    });
    expect(local.status).toBe(503);
    expect(local.body).toMatchObject({ reason: "claimStateUnavailable" });

    const claimed = await sql.query<{ claimed: string }>(
      "select count(*)::text as claimed from keypackages.key_packages where claimed_at is not null and client_id = $1",
      [user.devices[0]!.clientId],
    );
    expect(claimed.rows[0]?.claimed).toBe("0");
  }, 120_000);
});

describe.skipIf(!process.env.REDIS_URL)("replicas sharing Redis (REDIS_URL)", () => {
  it("refuse on one replica a signature another replica answered", async () => {
    const keyPrefix = `mimi:kp-test:${randomBytes(4).toString("hex")}:`;
    const settings = readConfig(keyPackageDirectoryConfigSpec, {
      REDIS_URL: process.env.REDIS_URL ?? "",
      MIMI_KEYPACKAGE_REDIS_PREFIX: keyPrefix,
    });
    const one = await providerWith(undefined, sql, { settings });
    const two = await providerWith(undefined, sql, { settings });
    try {
      const user = await userWithDevices(one, 1);
      await uploadFresh(one, user.token, user.devices[0]!, 3);
      const claim = signClaim(user.username, { ciphersuites: [1] });
      expect((await sendClaim(one, claim)).status).toBe(200);
      const replay = await sendClaim(two, claim);
      expect(replay.status).toBe(401);
      expect(replay.body).toMatchObject({ reason: "replayedRequest" });
      const fresh = await sendClaim(two, signClaim(user.username, { ciphersuites: [1] }));
      expect(fresh.status).toBe(200);
      const counts = await call(`${one.base}/api/v1/keypackages`, { token: user.token });
      expect(counts.body.clients).toEqual([expect.objectContaining({ available: 1 })]);
    } finally {
      const admin = new Redis(process.env.REDIS_URL ?? "");
      const keys = await admin.keys(`${keyPrefix}*`);
      expect(keys.some((key) => key.startsWith(`${keyPrefix}replay:`))).toBe(true);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  }, 120_000);
});

const redisStore = () =>
  createRedisClaimStore({
    url: process.env.REDIS_URL ?? "",
    keyPrefix: `mimi:kp-test:${randomBytes(4).toString("hex")}:`,
  });
const pglite = async () => sql;
// On PostgreSQL the claims really run concurrently (a pool of connections, batched statements).
const postgres = async () => {
  const database = createPgSql({ connectionString: process.env.DATABASE_URL ?? "" });
  closers.unshift(() => database.close());
  return database;
};
const concurrencyCases: Array<[string, boolean, () => ClaimStore, () => Promise<Sql>]> = [
  ["memory claim store, PGlite", false, () => createMemoryClaimStore(), pglite],
  ["Redis claim store, PGlite", !process.env.REDIS_URL, redisStore, pglite],
  [
    "Redis claim store, PostgreSQL",
    !process.env.REDIS_URL || !process.env.DATABASE_URL,
    redisStore,
    postgres,
  ],
  ["memory claim store, PostgreSQL", !process.env.DATABASE_URL, () => createMemoryClaimStore(), postgres],
];

const unlimitedClaims = readConfig(keyPackageDirectoryConfigSpec, {
  MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_PAIR: "0",
  MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN_TARGET: "0",
  MIMI_KEYPACKAGE_LAST_RESORT_LIMIT: "0",
});

for (const [name, skip, makeStore, openDatabase] of concurrencyCases) {
  describe.skipIf(skip)(`200 concurrent claims (${name})`, () => {
    it("hand out the 50 KeyPackages once each, then only the last resort", async () => {
      // One signer claims one user 200 times: the claim limits are not what this test is about.
      const provider = await providerWith(makeStore(), await openDatabase(), { settings: unlimitedClaims });
      const user = await userWithDevices(provider, 1);
      const device = user.devices[0]!;
      expect((await uploadFresh(provider, user.token, device, 50)).status).toBe(201);

      const answers = await Promise.all(
        Array.from({ length: 200 }, () => signedClaim(provider, user.username, { ciphersuites: [1] })),
      );
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      const items = answers.map((answer) => (answer.body.items as Item[])[0]!);
      const single = items.filter((item) => item["mimi:lastResort"] !== true);
      const lastResorts = items.filter((item) => item["mimi:lastResort"] === true);
      expect(single).toHaveLength(50);
      expect(new Set(single.map((item) => item.content)).size).toBe(50);
      expect(lastResorts).toHaveLength(150);
      expect(new Set(lastResorts.map((item) => item.content)).size).toBe(1);
      expect(single.map((item) => item.content)).not.toContain(lastResorts[0]?.content);

      const counts = await call(`${provider.base}/api/v1/keypackages`, { token: user.token });
      expect(counts.body.clients).toEqual([expect.objectContaining({ available: 0, hasLastResort: true })]);

      // Leave nothing behind in a shared Redis: the pool is empty, only the last resort key is left.
      const pool = poolKeyOf("a.test", {
        username: user.username,
        clientId: device.clientId,
        ciphersuite: 1,
      });
      const lastResortId = keyPackageIdOf(new Uint8Array(Buffer.from(lastResorts[0]!.content, "base64")));
      await provider.directory.claims.remove(pool, [lastResortId]);
      expect(await provider.directory.claims.count(pool)).toEqual({ available: 0, hasLastResort: false });
    }, 120_000);
  });
}
