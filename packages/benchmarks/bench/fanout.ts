import { createPublicKey, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { actorKeyMigrations, createActorKeyStore } from "@mimi/actor-keys";
import { createInProcessBus } from "@mimi/bus";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  deliveryFanoutMigrations,
  prepareDeliveryFanout,
  startDeliveryFanoutWorkers,
} from "@mimi/delivery-fanout";
import { type KeyResolver, verifyRequest } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import { deliveryRequestsTopic } from "@mimi/topics";
import {
  actorDocument,
  closeServer,
  connectToMapping,
  listenLocally,
  openBenchSql,
  portOf,
  type Scenario,
} from "../src/index.js";
import { BENCH_KEK, numberSetting } from "./settings.js";

/** One destination provider: serves its members' actor documents and verifies every inbox POST. */
interface SinkProvider {
  host: string;
  server: Server;
  posts: number;
  verified: number;
  recipients: number;
}

/**
 * One message to a channel of 1,000 members spread over 100 providers: the channel's followers come
 * from delivery-fanout's `localCollections` port (as the sequencer answers it), delivery-fanout
 * expands them, groups them by shared inbox and signs one POST per provider. Each provider is its own
 * local server that verifies the signature. Measured: POSTs and the time from publishing the delivery
 * request until the last POST was answered, once with an empty remote-actor cache and once warm.
 */
export const fanoutScenario: Scenario = {
  name: "fanout",
  async run(environment) {
    const providers = numberSetting("BENCH_FANOUT_PROVIDERS", 100);
    const membersPerProvider = numberSetting("BENCH_FANOUT_MEMBERS_PER_PROVIDER", 10);
    const { sql, kind: sqlKind } = await openBenchSql(environment, [
      actorKeyMigrations,
      identityMigrations,
      deliveryFanoutMigrations,
    ]);
    const config0 = readProviderConfig({
      MIMI_DOMAIN: "a.test",
      MIMI_PUBLIC_URL: "http://a.test",
      MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
    });
    const channelId = `bench-${environment.runId}`;
    const channelActor = config0.urls.channel(channelId);
    const actorKeys = createActorKeyStore(sql, config0.keyEncryptionKey);
    const channelKey = createPublicKey(await actorKeys.ensure(channelActor));

    const sinks: SinkProvider[] = [];
    const members: string[] = [];
    for (let p = 0; p < providers; p++) {
      // Host names carry the run id so the remote-actor cache (kept in SQL) starts empty.
      const host = `p${p}-${environment.runId}.test`;
      const names = Array.from({ length: membersPerProvider }, (_, m) => `u${m}`);
      for (const name of names) members.push(`http://${host}/users/${name}`);
      sinks.push(await startSinkProvider(host, names, channelActor, channelKey));
    }
    const config = readProviderConfig({
      MIMI_DOMAIN: "a.test",
      MIMI_PUBLIC_URL: "http://a.test",
      MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
      MIMI_DEV_CONNECT_TO: connectToMapping(sinks.map((sink) => [sink.host, portOf(sink.server)])),
    });
    const followersUrl = config.urls.channelFollowers(channelId);
    const bus = createInProcessBus();
    const ctx = createDeliveryFanoutContext({
      config,
      sql,
      logger: environment.logger,
      bus,
      localCollections: async (url) => (url === followersUrl ? members : undefined),
    });
    await prepareDeliveryFanout(ctx);
    const workers = await startDeliveryFanoutWorkers(ctx);

    const rounds: Array<{ label: string; posts: number; verified: number; lastAckMs: number }> = [];
    for (const label of ["cold actor cache", "warm actor cache"]) {
      for (const sink of sinks) {
        sink.posts = 0;
        sink.verified = 0;
        sink.recipients = 0;
      }
      const activityId = `${channelActor}/activities/${environment.runId}-${rounds.length}`;
      const activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        id: activityId,
        type: "Create",
        actor: channelActor,
        to: [followersUrl],
        object: {
          type: "PrivateMessage",
          mediaType: "message/mls",
          encoding: "base64",
          content: "A".repeat(600),
        },
      };
      const started = performance.now();
      let lastAck = started;
      const allAcked = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (sinks.every((sink) => sink.posts > 0) || performance.now() - started > 60_000) {
            clearInterval(check);
            resolve();
          }
        }, 1);
        for (const sink of sinks) {
          sink.server.on("bench:ack", () => {
            lastAck = performance.now();
          });
        }
      });
      await bus.publish(deliveryRequestsTopic.name, [
        deliveryRequestsTopic.message(channelId, {
          activityId,
          activity,
          signAs: channelActor,
          audience: [followersUrl],
          exclude: [],
          requestedAt: new Date().toISOString(),
        }),
      ]);
      await allAcked;
      // Late duplicates would show up here.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const sink of sinks) sink.server.removeAllListeners("bench:ack");
      rounds.push({
        label,
        posts: sinks.reduce((sum, sink) => sum + sink.posts, 0),
        verified: sinks.reduce((sum, sink) => sum + sink.verified, 0),
        lastAckMs: lastAck - started,
      });
    }
    await workers.stop();
    await closeDeliveryFanout(ctx);
    await bus.close();
    for (const sink of sinks) await closeServer(sink.server);
    await sql.close();

    const [cold, warm] = rounds;
    if (!cold || !warm) throw new Error("fan-out rounds missing");
    const members1k = members.length;
    return {
      metrics: [
        {
          scenario: "4 fan-out",
          name: `${members1k} members/${providers} providers: POSTs`,
          value: warm.posts,
          unit: "POSTs",
          reference: { name: "providers (one POST each)", value: providers },
          target: { kind: "atMost", bound: providers },
        },
        {
          scenario: "4 fan-out",
          name: "POSTs with a valid signature",
          value: warm.verified,
          unit: "POSTs",
          reference: { name: "providers", value: providers },
          target: { kind: "atLeast", bound: providers },
        },
        {
          scenario: "4 fan-out",
          name: "time to last acknowledged POST, warm cache",
          value: warm.lastAckMs,
          unit: "ms",
          reference: { name: "same, cold cache (1,000 actor fetches)", value: cold.lastAckMs },
          target: { kind: "atMost", bound: 250 },
        },
      ],
      notes: [
        `delivery-fanout on ${sqlKind}, in-process bus (4 partitions); followers through the localCollections port; ${providers} sink servers each verifying the channel's RSA-2048 signature`,
        ...rounds.map(
          (round) =>
            `${round.label}: ${round.posts} POSTs, ${round.verified} verified, last acknowledged after ${round.lastAckMs.toFixed(0)} ms`,
        ),
      ],
      details: { rounds },
    };
  },
};

async function startSinkProvider(
  host: string,
  names: readonly string[],
  channelActor: string,
  channelKey: KeyObject,
): Promise<SinkProvider> {
  const origin = `http://${host}`;
  const documents = new Map(
    names.map((name) => {
      const id = `${origin}/users/${name}`;
      // Members' own keys are never used here; the channel's public key stands in for them.
      return [`/users/${name}`, JSON.stringify(actorDocument(id, channelKey, origin))];
    }),
  );
  const keys: KeyResolver = {
    resolve: async (keyId) =>
      keyId === `${channelActor}#main-key`
        ? { ok: true, key: { keyId, owner: channelActor, publicKey: channelKey }, fromCache: true }
        : { ok: false, reason: "keyFetchError", detail: `unknown key ${keyId}` },
  };
  const sink: SinkProvider = { host, server: createServer(), posts: 0, verified: 0, recipients: 0 };
  sink.server.on("request", async (req, res) => {
    if (req.method === "GET") {
      const document = documents.get(req.url ?? "");
      if (document) res.writeHead(200, { "content-type": ACTIVITY_JSON }).end(document);
      else res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const outcome = await verifyRequest(
      {
        method: req.method ?? "POST",
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks),
      },
      keys,
      { scheme: "http" },
    );
    sink.posts += 1;
    if (outcome.ok) sink.verified += 1;
    res.writeHead(outcome.ok ? 202 : 401).end(() => sink.server.emit("bench:ack"));
  });
  await listenLocally(sink.server);
  return sink;
}
