import { ACTIVITY_JSON } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  type ClaimPoolKey,
  type ClaimStore,
  createMemoryClaimStore,
  createRedisClaimStore,
} from "@mimi/claims";
import { signRequest } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import {
  createKeyPackageDirectoryContext,
  DEFAULT_CIPHERSUITE_ID,
  keyPackageDirectoryConfigSpec,
  keyPackageDirectoryMigrations,
  keyPackageDirectoryRouter,
  prepareKeyPackageDirectory,
} from "@mimi/keypackage-directory";
import { readProviderConfig } from "@mimi/provider-config";
import { createApp, createMetrics, readConfig, startServer } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import {
  type BenchEnvironment,
  connectToMapping,
  createHttpClient,
  openBenchSql,
  type PreparedRequest,
  profiled,
  runClosedLoop,
  type Scenario,
  startKeyServer,
} from "../src/index.js";
import { BENCH_KEK, numberSetting } from "./settings.js";

const CONNECTIONS = 50;
const USERS = 100;

/**
 * KeyPackage claims per second through the signed server-to-server endpoint
 * (`POST /users/:user/keyPackages/claim`, keypackage-directory's router on a real HTTP server), and
 * straight against the claim store. Every pool is seeded with exactly as many KeyPackages as are
 * claimed, so the run also checks that none is served twice and none is lost.
 */
export const claimsScenario: Scenario = {
  name: "claims",
  async run(environment) {
    const perUser = numberSetting("BENCH_CLAIMS_PER_USER", 60);
    const storeClaims = numberSetting("BENCH_STORE_CLAIMS", 20_000);
    const http = await httpClaims(environment, perUser);
    const direct = await storeClaimRate(environment, storeClaims);
    const storeKind = environment.redisUrl ? "Redis" : "memory";
    return {
      metrics: [
        {
          scenario: "5 claims",
          name: "KeyPackage claims/s via signed HTTP",
          value: http.perSecond,
          unit: "/s",
          reference: { name: `${storeKind} claim store direct /s`, value: direct.perSecond },
          target: { kind: "atLeast", bound: 3000 },
        },
        {
          scenario: "5 claims",
          name: "HTTP claim latency p99",
          value: http.latencyP99,
          unit: "ms",
        },
        {
          scenario: "5 claims",
          name: "duplicates served (HTTP + direct)",
          value: http.duplicates + direct.duplicates,
          unit: "",
          target: { kind: "atMost", bound: 0 },
        },
      ],
      notes: [
        `keypackage-directory on ${http.sqlKind} with the ${storeKind} claim store; ${USERS} users x ${perUser} KeyPackages, ${CONNECTIONS} connections, one signed (RSA-2048) request per claim, each with its own signature, prepared before the loop`,
        `HTTP: ${http.served} served of ${http.claims}, ${http.failed} failed, ${http.duplicates} duplicates; direct: ${direct.served} of ${direct.claims} claimed, ${direct.duplicates} duplicates, ${direct.missing} never served`,
      ],
      details: { http, direct },
    };
  },
};

async function httpClaims(environment: BenchEnvironment, perUser: number) {
  const keyServer = await startKeyServer();
  const claimer = keyServer.addActor("claimer.test", "directory");
  const { sql, kind: sqlKind } = await openBenchSql(environment, [
    actorKeyMigrations,
    identityMigrations,
    keyPackageDirectoryMigrations,
  ]);
  const usernames = Array.from({ length: USERS }, (_, i) => `kb${environment.runId}x${i}`);
  // Users of the untimed warm-up pass, with pools of their own: the timed pools stay exactly as large
  // as the claims made on them.
  const warmPerUser = numberSetting("BENCH_CLAIMS_WARMUP_PER_USER", 10);
  const warmUsernames = Array.from({ length: USERS }, (_, i) => `kb${environment.runId}w${i}`);
  await seedKeyPackages(sql, usernames, perUser, environment.runId);
  await seedKeyPackages(sql, warmUsernames, warmPerUser, environment.runId);
  const config = readProviderConfig({
    MIMI_DOMAIN: "b.test",
    MIMI_PUBLIC_URL: "http://b.test",
    MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
    MIMI_DEV_CONNECT_TO: connectToMapping([["claimer.test", keyServer.port]]),
  });
  const settings = readConfig(keyPackageDirectoryConfigSpec, {
    ...(environment.redisUrl ? { REDIS_URL: environment.redisUrl } : {}),
    MIMI_KEYPACKAGE_REDIS_PREFIX: `mimi:bench:${environment.runId}:`,
    // One claimer claims every user's packages many times over: the claim path is measured, not
    // the limits that would stop such a claimer (their cost is the limiter line's).
    MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_PAIR: "0",
    MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN_TARGET: "0",
    MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN: "0",
    MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_USER: "0",
    MIMI_KEYPACKAGE_LAST_RESORT_LIMIT: "0",
  });
  const ctx = createKeyPackageDirectoryContext({ config, sql, logger: environment.logger, settings });
  await prepareKeyPackageDirectory(ctx);
  const metrics = createMetrics({ defaultMetrics: false });
  const app = createApp({ logger: environment.logger, metrics, routers: [keyPackageDirectoryRouter(ctx)] });
  const server = await startServer(app, { port: 0, host: "127.0.0.1", logger: environment.logger });

  // A signed claim is answered once, so every claim carries a signature of its own (a nonce in the
  // body); all are signed before the loop, as a peer's signing is not the directory's cost.
  const prepare = (users: string[], total: number, label: string): PreparedRequest[] =>
    Array.from({ length: total }, (_, index) => {
      const username = users[index % USERS] ?? "";
      const url = `http://b.test/users/${username}/keyPackages/claim`;
      const body = JSON.stringify({
        ciphersuites: [DEFAULT_CIPHERSUITE_ID],
        "mimi:nonce": `${label}-${index}`,
      });
      const headers = signRequest(
        { method: "POST", url, headers: { "content-type": ACTIVITY_JSON, accept: ACTIVITY_JSON }, body },
        { keyId: claimer.keyId, privateKey: claimer.privateKey },
      );
      return { method: "POST", path: new URL(url).pathname, headers, body: Buffer.from(body) };
    });
  const client = createHttpClient(server.port, CONNECTIONS);
  const seen = new Set<string>();
  let duplicates = 0;
  let served = 0;
  const claims = USERS * perUser;
  const claimLoop = (requests: PreparedRequest[]) =>
    runClosedLoop(requests.length, CONNECTIONS, async (index) => {
      const prepared = requests[index];
      if (!prepared) return false;
      const answer = await client.send(prepared);
      if (answer.status !== 200) return false;
      const collection = JSON.parse(answer.body.toString("utf8")) as { items?: Array<{ content?: string }> };
      for (const item of collection.items ?? []) {
        if (typeof item.content !== "string") continue;
        served += 1;
        if (seen.has(item.content)) duplicates += 1;
        else seen.add(item.content);
      }
      return true;
    });
  // Untimed first (key fetch, connections, JIT), as the inbound scenario warms its servers.
  const warmRequests = prepare(warmUsernames, USERS * warmPerUser, "warm");
  const timedRequests = prepare(usernames, claims, "timed");
  const warmup = await claimLoop(warmRequests);
  const result = await profiled("claims-http", () => claimLoop(timedRequests));
  client.close();
  await server.close();
  await ctx.close();
  const everyone = [...usernames, ...warmUsernames];
  await sql.query("delete from identity.accounts where username = any($1::text[])", [everyone]);
  await sql.query("delete from keypackages.key_packages where username = any($1::text[])", [everyone]);
  await sql.close();
  await keyServer.close();
  return {
    sqlKind,
    // Every claim made, warm-up included: each must have been served exactly once.
    claims: claims + USERS * warmPerUser,
    served,
    duplicates,
    failed: result.failed + warmup.failed,
    perSecond: result.perSecond,
    latencyP50: result.latencyMs.p50,
    latencyP99: result.latencyMs.p99,
  };
}

/** Accounts, one client each, and `perUser` single-use KeyPackages whose bytes name their id. */
async function seedKeyPackages(sql: Sql, usernames: string[], perUser: number, runId: string): Promise<void> {
  await sql.query(
    `insert into identity.accounts (username, password_hash) select unnest($1::text[]), 'unused'`,
    [usernames],
  );
  await sql.query(
    `insert into identity.clients (id, username, name) select u || '-phone', u, 'bench' from unnest($1::text[]) u`,
    [usernames],
  );
  const notAfter = new Date(Date.now() + 7 * 86_400_000);
  for (const username of usernames) {
    const ids = Array.from({ length: perUser }, (_, i) => `kp-${runId}-${username}-${i}`);
    await sql.query(
      `insert into keypackages.key_packages (id, username, client_id, ciphersuite, last_resort, content, not_after)
       select id, $2, $3, $4, false, convert_to(id, 'UTF8'), $5 from unnest($1::text[]) id`,
      [ids, username, `${username}-phone`, DEFAULT_CIPHERSUITE_ID, notAfter],
    );
  }
}

async function storeClaimRate(environment: BenchEnvironment, claims: number) {
  const store: ClaimStore = environment.redisUrl
    ? createRedisClaimStore({
        url: environment.redisUrl,
        keyPrefix: `mimi:bench:${environment.runId}:direct:`,
      })
    : createMemoryClaimStore();
  const pools: ClaimPoolKey[] = Array.from({ length: USERS }, (_, i) => ({
    user: `user${i}@b.test`,
    client: "phone",
    ciphersuite: DEFAULT_CIPHERSUITE_ID,
  }));
  const perPool = Math.ceil(claims / USERS);
  for (const [p, pool] of pools.entries()) {
    await store.add(
      pool,
      Array.from({ length: perPool }, (_, i) => `p${p}-kp${i}`),
    );
  }
  const total = perPool * USERS;
  const seen = new Set<string>();
  let duplicates = 0;
  const result = await runClosedLoop(total, CONNECTIONS, async (index) => {
    const claimed = await store.claim(pools[index % USERS] as ClaimPoolKey);
    if (!claimed) return false;
    if (seen.has(claimed.keyPackageId)) duplicates += 1;
    else seen.add(claimed.keyPackageId);
    return true;
  });
  await store.close();
  return {
    claims: total,
    served: result.completed,
    duplicates,
    missing: total - seen.size,
    perSecond: result.perSecond,
  };
}
