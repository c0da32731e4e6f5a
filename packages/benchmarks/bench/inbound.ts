import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { deliveryFanoutMigrations } from "@mimi/delivery-fanout";
import { type KeyResolver, signRequest, verifyRequest } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { createInboxIngestContext, inboxIngestMigrations, inboxIngestRouter } from "@mimi/inbox-ingest";
import { readProviderConfig } from "@mimi/provider-config";
import { openRateLimiters, type RateLimiterBackend } from "@mimi/rate-limits";
import { createApp, createMetrics, startServer } from "@mimi/service-kit";
import { userInboxTopic } from "@mimi/topics";
import {
  closeServer,
  connectToMapping,
  type FakeActor,
  listenLocally,
  openBenchBus,
  openBenchSql,
  type PreparedRequest,
  portOf,
  profiled,
  runHttpLoad,
  type Scenario,
  startKeyServer,
} from "../src/index.js";
import { BENCH_KEK, numberSetting } from "./settings.js";

const CONNECTIONS = 50;
const SENDERS = 8;

/**
 * Signed activities accepted per second by inbox-ingest (`POST /users/bob/inbox`), against a bare
 * node:http server doing the same digest and signature check with a cached key, driven by the same
 * load generator with the same pre-signed requests.
 */
export const inboundScenario: Scenario = {
  name: "inbound",
  async run(environment) {
    const total = numberSetting("BENCH_INBOUND_REQUESTS", 3000);
    const warmupTotal = numberSetting("BENCH_INBOUND_WARMUP", 1000);
    const keyServer = await startKeyServer();
    const senders: FakeActor[] = [];
    for (let i = 0; i < SENDERS; i++) senders.push(keyServer.addActor(`remote${i}.test`, `sender${i}`));
    const { sql, kind: sqlKind } = await openBenchSql(environment, [
      actorKeyMigrations,
      identityMigrations,
      inboxIngestMigrations,
      // The mailbox usage inbox-ingest reads (a full mailbox is refused), as in every deployment.
      deliveryFanoutMigrations,
    ]);
    const { bus, kind: busKind } = await openBenchBus(environment, "mimi-bench-ingest", [
      userInboxTopic.name,
    ]);
    await sql.query(
      "insert into identity.accounts (username, password_hash) values ('bob', 'unused') on conflict do nothing",
    );
    const config = readProviderConfig({
      MIMI_DOMAIN: "b.test",
      MIMI_PUBLIC_URL: "http://b.test",
      MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
      MIMI_DEV_CONNECT_TO: connectToMapping(senders.map((_, i) => [`remote${i}.test`, keyServer.port])),
    });
    const metrics = createMetrics({ defaultMetrics: false });
    const ctx = createInboxIngestContext({
      config,
      sql,
      bus,
      logger: environment.logger,
      metrics,
      ports: { channelExists: async () => false },
    });
    const app = createApp({ logger: environment.logger, metrics, routers: [inboxIngestRouter(ctx)] });
    const ingest = await startServer(app, { port: 0, host: "127.0.0.1", logger: environment.logger });

    const presignStarted = performance.now();
    const warmup = signedDeliveries(environment.runId, "warm", senders, warmupTotal);
    const timed = signedDeliveries(environment.runId, "timed", senders, total);
    const presignMs = performance.now() - presignStarted;

    // Warm-up of both servers before either is timed: each sender's key is fetched and cached,
    // connections are opened, and the JIT has compiled both paths, so neither timed loop pays for
    // compiling code the other reuses (the verification code is shared).
    const ceiling = await startVerifyOnlyServer(senders);
    await runHttpLoad(ingest.port, CONNECTIONS, warmup);
    await runHttpLoad(ceiling.port, CONNECTIONS, warmup);
    const ingestResult = await profiled("inbound-ingest", () => runHttpLoad(ingest.port, CONNECTIONS, timed));
    const ceilingResult = await runHttpLoad(ceiling.port, CONNECTIONS, timed);

    await closeServer(ceiling.server);
    await ingest.close();
    await ctx.close();
    await bus.close();
    await sql.close();
    await keyServer.close();

    // The inbox's rate limits as a share of one delivery's time: their CPU per delivery against the
    // time a delivery takes at the measured rate (one event loop, so 1/rate of CPU each).
    const deliveryMicros = 1_000_000 / ingestResult.perSecond;
    const limiterShares: Array<{ backend: string; micros: number }> = [];
    for (const backend of ["memory", ...(environment.redisUrl ? ["redis"] : [])]) {
      const limiters = openRateLimiters(
        backend === "redis"
          ? { redisUrl: environment.redisUrl, keyPrefix: `mimi:bench:${environment.runId}:rl:` }
          : {},
      );
      limiterShares.push({ backend, micros: await limiterMicrosPerDelivery(limiters) });
      await limiters.close();
    }

    const reference = { name: "bare node:http digest+verify", value: ceilingResult.perSecond };
    return {
      metrics: [
        {
          scenario: "1 inbound",
          name: "accepted activities/s (50 conns, RSA-2048 cavage)",
          value: ingestResult.perSecond,
          unit: "/s",
          reference,
          target: { kind: "atLeast", bound: 0.4, ofReference: true },
        },
        {
          scenario: "1 inbound",
          name: "latency p50",
          value: ingestResult.latencyMs.p50,
          unit: "ms",
          reference: { name: "bare verify p50", value: ceilingResult.latencyMs.p50 },
        },
        {
          scenario: "1 inbound",
          name: "latency p99",
          value: ingestResult.latencyMs.p99,
          unit: "ms",
          reference: { name: "bare verify p99", value: ceilingResult.latencyMs.p99 },
        },
        ...limiterShares.map(({ backend, micros }) => ({
          scenario: "1 inbound",
          name: `rate limits' share of a delivery (${backend}, ${micros.toFixed(1)} µs CPU)`,
          value: (100 * micros) / deliveryMicros,
          unit: "%",
          target: { kind: "atMost" as const, bound: 5 },
        })),
      ],
      notes: [
        `inbox-ingest on ${sqlKind} with ${busKind}; ${total} pre-signed deliveries (unique activity ids) from ${SENDERS} remote actors, signed in ${(presignMs / 1000).toFixed(1)} s before the timed loop`,
        `ingest: ${ingestResult.completed} accepted, ${ingestResult.failed} failed ${JSON.stringify(ingestResult.statuses)}; ceiling: ${ceilingResult.completed} verified, ${ceilingResult.failed} failed`,
        `key documents fetched: ${keyServer.fetches()} (once per sender, then cached)`,
      ],
      details: { ingest: ingestResult, ceiling: ceilingResult, presignMs },
    };
  },
};

function signedDeliveries(
  runId: string,
  label: string,
  senders: readonly FakeActor[],
  count: number,
): PreparedRequest[] {
  const url = "http://b.test/users/bob/inbox";
  const requests: PreparedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const sender = senders[i % senders.length];
    if (!sender) throw new Error("no sender");
    const body = JSON.stringify({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${sender.id}/activities/${runId}-${label}-${i}`,
      type: "Create",
      actor: sender.id,
      to: ["http://b.test/users/bob"],
      object: { type: "Note", content: `benchmark delivery ${i}` },
    });
    const headers = signRequest(
      { method: "POST", url, headers: { "content-type": ACTIVITY_JSON }, body },
      { keyId: sender.keyId, privateKey: sender.privateKey },
    );
    requests.push({ method: "POST", path: "/users/bob/inbox", headers, body: Buffer.from(body) });
  }
  return requests;
}

/** The ceiling: read the body, check digest and signature with a cached key, answer 202. */
async function startVerifyOnlyServer(senders: readonly FakeActor[]) {
  const byKeyId = new Map(senders.map((sender) => [sender.keyId, sender]));
  const keys: KeyResolver = {
    resolve: async (keyId) => {
      const sender = byKeyId.get(keyId);
      if (!sender) return { ok: false, reason: "keyFetchError", detail: `unknown key ${keyId}` };
      return { ok: true, key: { keyId, owner: sender.id, publicKey: sender.publicKey }, fromCache: true };
    },
  };
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    // verifyRequest checks the Digest header itself; this hash mirrors the body read a server does anyway.
    createHash("sha256").update(body).digest();
    const outcome = await verifyRequest(
      { method: req.method ?? "POST", path: req.url ?? "/", headers: req.headers, body },
      keys,
      { scheme: "http" },
    );
    res.writeHead(outcome.ok ? 202 : 401).end();
  });
  await listenLocally(server);
  return { server, port: portOf(server) };
}

const LIMITED_DELIVERIES = 5_000;

/**
 * CPU time, in µs, of what an inbox POST asks of its rate limits: a point of its client address,
 * a check of its signer's origin and, once accepted, a point of that origin.
 */
async function limiterMicrosPerDelivery(backend: RateLimiterBackend): Promise<number> {
  const rule = { points: 1_000_000_000, durationSeconds: 60 };
  const perAddress = backend.limiter("bench-inbox-address", rule);
  const perOrigin = backend.limiter("bench-inbox-origin", rule);
  const deliver = async (i: number) => {
    await perAddress.consume(`10.0.${i % 250}.1`);
    await perOrigin.peek(`https://remote${i % 50}.test`);
    await perOrigin.consume(`https://remote${i % 50}.test`);
  };
  // 50 at a time, as the timed loop's connections arrive.
  const run = async (count: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < count) await deliver(next++);
      }),
    );
  };
  await run(1_000);
  const started = process.cpuUsage();
  await run(LIMITED_DELIVERIES);
  const cpu = process.cpuUsage(started);
  return (cpu.user + cpu.system) / LIMITED_DELIVERIES;
}
