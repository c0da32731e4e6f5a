import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import { actorKeyMigrations, createActorKeyStore } from "@mimi/actor-keys";
import { type Bus, createInProcessBus } from "@mimi/bus";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  deliveryFanoutMigrations,
  startDeliveryFanoutWorkers,
} from "@mimi/delivery-fanout";
import {
  createSchemeMemory,
  type KeyResolver,
  type SignatureScheme,
  type SigningKey,
  signRequest,
  verifyRequest,
} from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import type { Sql } from "@mimi/store";
import { deliveryJobsTopic, destinationKey } from "@mimi/topics";
import {
  type BenchEnvironment,
  connectToMapping,
  type Metric,
  openBenchSql,
  profiled,
  ratePerSecond,
  type Scenario,
} from "../src/index.js";
import { BENCH_KEK, numberSetting } from "./settings.js";

const SIGNER = "http://a.test/users/alice";
const ORIGINS = 32;
/** How long each signing or verifying rate is measured. */
const MEASURE_MS = 1500;

/** A delivery's body: a Create of a 600-byte MLS message, as the outbound scenario sends. */
const BODY = JSON.stringify({
  "@context": "https://www.w3.org/ns/activitystreams",
  id: `${SIGNER}/activities/bench`,
  type: "Create",
  actor: SIGNER,
  object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "A".repeat(600) },
});

interface Scheme {
  readonly scheme: SignatureScheme;
  readonly label: string;
  readonly key: SigningKey;
}

/**
 * The two signature schemes side by side: whole-request signatures per second (headers, digest and
 * the private-key operation, one core, as `signRequest` makes them) with RFC 9421/Ed25519 and with
 * draft-cavage/RSA-2048, their verification rates with a cached key, and signed deliveries per second
 * through delivery-fanout with each scheme in the same run.
 */
export const signaturesScenario: Scenario = {
  name: "signatures",
  async run(environment) {
    const jobs = numberSetting("BENCH_SIGNATURES_DELIVERIES", 4000);
    const warmup = numberSetting("BENCH_SIGNATURES_WARMUP", 500);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ed = generateKeyPairSync("ed25519");
    const rsaKey: SigningKey = { keyId: `${SIGNER}#main-key`, privateKey: rsa.privateKey };
    const bothKeys: SigningKey = {
      ...rsaKey,
      ed25519: { keyId: `${SIGNER}#ed25519-key`, privateKey: ed.privateKey },
    };
    const schemes: Scheme[] = [
      { scheme: "cavage", label: "draft-cavage RSA-2048", key: rsaKey },
      { scheme: "rfc9421", label: "RFC 9421 Ed25519", key: bothKeys },
    ];
    const publicKeys: Record<string, KeyObject> = {
      [`${SIGNER}#main-key`]: rsa.publicKey,
      [`${SIGNER}#ed25519-key`]: ed.publicKey,
    };
    const resolver: KeyResolver = {
      async resolve(keyId) {
        const publicKey = publicKeys[keyId];
        if (publicKey === undefined) return { ok: false, reason: "keyFetchError", detail: `no ${keyId}` };
        return { ok: true, key: { keyId, owner: SIGNER, publicKey }, fromCache: true };
      },
    };

    const signing = schemes.map((entry) => signRate(entry));
    const verifying = [];
    for (const entry of schemes) verifying.push(await verifyRate(entry, resolver));
    // identity's tables too: delivery-fanout reads the blocked domains before sending.
    const { sql, kind: sqlKind } = await openBenchSql(environment, [
      actorKeyMigrations,
      identityMigrations,
      deliveryFanoutMigrations,
    ]);
    const delivering = [];
    for (const entry of schemes) {
      delivering.push(await deliveryRate(environment, sql, entry, { warmup, jobs }));
    }
    await sql.close();

    const [cavageSigns, rfc9421Signs] = signing as [number, number];
    const [cavageVerifies, rfc9421Verifies] = verifying as [number, number];
    const [cavageDeliveries, rfc9421Deliveries] = delivering as [DeliveryRun, DeliveryRun];
    const metrics: Metric[] = [
      {
        scenario: "2b signatures",
        name: "signed requests/s, RFC 9421 Ed25519",
        value: rfc9421Signs,
        unit: "/s",
        reference: { name: "draft-cavage RSA-2048 signed requests/s", value: cavageSigns },
        target: { kind: "atLeast", bound: 3, ofReference: true },
      },
      {
        scenario: "2b signatures",
        name: "signed requests/s, draft-cavage RSA-2048",
        value: cavageSigns,
        unit: "/s",
      },
      {
        scenario: "2b signatures",
        name: "verified requests/s, RFC 9421 Ed25519",
        value: rfc9421Verifies,
        unit: "/s",
        reference: { name: "draft-cavage RSA-2048 verified requests/s", value: cavageVerifies },
      },
      {
        scenario: "2b signatures",
        name: "verified requests/s, draft-cavage RSA-2048",
        value: cavageVerifies,
        unit: "/s",
      },
      {
        scenario: "2b signatures",
        name: "signed deliveries/s, RFC 9421 Ed25519",
        value: rfc9421Deliveries.perSecond,
        unit: "/s",
        reference: { name: "draft-cavage RSA-2048 deliveries/s", value: cavageDeliveries.perSecond },
        target: { kind: "atLeast", bound: 3, ofReference: true },
      },
      {
        scenario: "2b signatures",
        name: "signed deliveries/s, draft-cavage RSA-2048",
        value: cavageDeliveries.perSecond,
        unit: "/s",
      },
    ];
    return {
      metrics,
      notes: [
        `signing and verifying: one core, ${MEASURE_MS} ms per figure, a delivery-sized POST (${BODY.length} bytes), the key cached`,
        `deliveries: delivery-fanout's send consumer on ${sqlKind}, ${jobs} jobs per scheme over ${ORIGINS} origins remembered as reading that scheme, timed after ${warmup} warm-up jobs (connections open, signing thread started, pairs known); the sink, on a thread of its own as a remote server would be, answers 202 and checks only which scheme arrived`,
      ],
      details: {
        signsPerSecond: { cavage: cavageSigns, rfc9421: rfc9421Signs },
        verifiesPerSecond: { cavage: cavageVerifies, rfc9421: rfc9421Verifies },
        deliveries: { cavage: cavageDeliveries, rfc9421: rfc9421Deliveries },
      },
    };
  },
};

function request() {
  return {
    method: "POST",
    url: "http://sink0.test/inbox",
    headers: { "content-type": ACTIVITY_JSON },
    body: BODY,
  };
}

/** Whole signed requests per second (`signRequest`: headers, digest, signature), on this thread. */
function signRate({ scheme, key }: Scheme): number {
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS) {
    signRequest(request(), key, { scheme });
    count += 1;
  }
  return ratePerSecond(count, performance.now() - started);
}

/** `verifyRequest` runs per second over one signed request, the key cached (no fetch). */
async function verifyRate({ scheme, key }: Scheme, keys: KeyResolver): Promise<number> {
  const headers = signRequest(request(), key, { scheme });
  const received = { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode(BODY) };
  const check = await verifyRequest(received, keys, { scheme: "http" });
  if (!check.ok) throw new Error(`the ${scheme} request does not verify: ${check.reason} ${check.detail}`);
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS) {
    await verifyRequest(received, keys, { scheme: "http" });
    count += 1;
  }
  return ratePerSecond(count, performance.now() - started);
}

interface DeliveryRun {
  delivered: number;
  /** Deliveries that arrived signed with another scheme than the one measured (should be 0). */
  otherScheme: number;
  elapsedMs: number;
  perSecond: number;
}

/**
 * Signed deliveries per second through delivery-fanout, every origin remembered as reading `scheme`,
 * in steady state: `warmup` jobs go first and are not timed, so that the rate is not that of opening
 * 32 connections, starting the signing thread and the first look at each pair's stored backlog.
 */
async function deliveryRate(
  environment: BenchEnvironment,
  sql: Sql,
  { scheme, key }: Scheme,
  { warmup, jobs }: { warmup: number; jobs: number },
): Promise<DeliveryRun> {
  // The peer runs on a thread of its own, as a remote server would on its own machine.
  const sink = new Worker(new URL("./remote-sink.mjs", import.meta.url), {
    workerData: { warmup, jobs, scheme },
  });
  const reports = sinkReports(sink);
  const port = (await reports.listening).port;
  const hosts = Array.from({ length: ORIGINS }, (_, i) => `sink${i}.test`);
  const config = readProviderConfig({
    MIMI_DOMAIN: "a.test",
    MIMI_PUBLIC_URL: "http://a.test",
    MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
    MIMI_DEV_CONNECT_TO: connectToMapping(hosts.map((host) => [host, port])),
  });
  const signatureSchemes = createSchemeMemory();
  for (const host of hosts) signatureSchemes.remember(`http://${host}`, scheme);
  const bus: Bus = createInProcessBus();
  const realKeys = createActorKeyStore(sql, config.keyEncryptionKey);
  const ctx = createDeliveryFanoutContext(
    { config, sql, logger: environment.logger, bus },
    { actorKeys: { ...realKeys, signingKey: async () => key }, signatureSchemes },
  );
  const workers = await startDeliveryFanoutWorkers(ctx);
  const firstAttemptAt = new Date().toISOString();
  const messages = Array.from({ length: warmup + jobs }, (_, i) => {
    const inbox = `http://${hosts[i % hosts.length]}/inbox`;
    return deliveryJobsTopic.message(destinationKey(inbox), {
      activityId: `${SIGNER}/activities/${environment.runId}-sig-${scheme}-${i}`,
      body: BODY,
      signAs: SIGNER,
      inbox,
      recipients: [`http://${hosts[i % hosts.length]}/users/u`],
      firstAttemptAt,
    });
  });
  const timeout = setTimeout(() => sink.postMessage("report"), 120_000);
  await bus.publish(deliveryJobsTopic.name, messages.slice(0, warmup));
  if (warmup > 0) await reports.warm;
  const started = performance.timeOrigin + performance.now();
  const finished = await profiled(`signatures-${scheme}`, async () => {
    await bus.publish(deliveryJobsTopic.name, messages.slice(warmup));
    return reports.done;
  });
  clearTimeout(timeout);
  await workers.stop();
  await closeDeliveryFanout(ctx);
  await bus.close();
  sink.postMessage("close");
  await once(sink, "exit");
  const elapsedMs = finished.lastAtMs - started;
  return {
    delivered: finished.delivered,
    otherScheme: finished.otherScheme,
    elapsedMs,
    perSecond: ratePerSecond(finished.delivered, elapsedMs),
  };
}

interface SinkDone {
  delivered: number;
  otherScheme: number;
  /** When the last delivery arrived, in ms since the epoch (threads share no `performance.now()`). */
  lastAtMs: number;
}

interface SinkReports {
  listening: Promise<{ port: number }>;
  warm: Promise<void>;
  done: Promise<SinkDone>;
}

/** The sink thread's reports: its port once listening, the warm-up's end, its counts once every job arrived. */
function sinkReports(sink: Worker): SinkReports {
  let listening: (value: { port: number }) => void = () => {};
  let warm: () => void = () => {};
  let done: (value: SinkDone) => void = () => {};
  const result = {
    listening: new Promise<{ port: number }>((resolve) => {
      listening = resolve;
    }),
    warm: new Promise<void>((resolve) => {
      warm = resolve;
    }),
    done: new Promise<SinkDone>((resolve) => {
      done = resolve;
    }),
  };
  sink.on("message", (message: { kind: string } & Partial<SinkDone> & { port?: number }) => {
    if (message.kind === "listening" && message.port !== undefined) listening({ port: message.port });
    if (message.kind === "warm") warm();
    if (message.kind === "done")
      done({
        delivered: message.delivered ?? 0,
        otherScheme: message.otherScheme ?? 0,
        lastAtMs: message.lastAtMs ?? 0,
      });
  });
  return result;
}
