import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import {
  createTextContent,
  encodeContent,
  followersOf,
  MimiClient,
  newActivityId,
  ProviderApi,
  StateStore,
} from "@mimi/client";
import {
  encryptApplicationMessage,
  fromWireObject,
  loadCiphersuite,
  processIncoming,
  toWireObject,
} from "@mimi/mls";
import { type ServiceProcess, startSplitDeployment } from "@mimi/split";
import { startProvider } from "@mimi/standalone";
import {
  type BenchEnvironment,
  type BenchMember,
  benchDatabaseUrl,
  listenToMailbox,
  type Metric,
  mailboxCursorOf,
  profiled,
  ratePerSecond,
  runPacedSequence,
  type Scenario,
  storedState,
  summarizeLatencies,
  waitUntil,
  waitUntilAsync,
} from "../src/index.js";
import { measureOneToOne } from "./dm-latency.js";
import { BENCH_KEK, numberSetting } from "./settings.js";

const DOMAINS = ["a.test", "b.test"] as const;
const WARMUP_MESSAGES = 40;
const DRAIN_TIMEOUT_MS = 60_000;

type Member = BenchMember;

/** Where the two providers run: the split deployment (five processes each) or one process each. */
type DeploymentKind = "split" | "standalone";

interface E2eDeployment {
  kind: DeploymentKind;
  /** Client-facing base URLs of a.test and b.test. */
  servers: [string, string];
  connectTo: string;
  description: string;
  close(): Promise<void>;
}

/**
 * Client send to recipient client receive across two providers: alice@a.test posts MLS application
 * messages to her outbox at a fixed offered rate (an open loop: each message starts on its slot, with
 * most BENCH_E2E_IN_FLIGHT POSTs pending and none overtaking one sent that many places before), the channel (hosted at a.test) forwards them to b.test,
 * and bob's live mailbox stream (SSE) delivers them; bob decrypts each one. Latency is from the start
 * of alice's POST to bob's decryption. The providers are the split deployment when the infra
 * variables are set (BENCH_E2E_DEPLOYMENT chooses), else two standalone providers in this process.
 * The channel is set up with the client SDK (MimiClient); the timed loop uses the SDK's wire calls
 * (ProviderApi) with messages encrypted before the loop, and keeps MLS state in memory.
 */
export const endToEndScenario: Scenario = {
  name: "e2e",
  async run(environment) {
    const rate = numberSetting("BENCH_E2E_RATE", 200);
    const seconds = numberSetting("BENCH_E2E_SECONDS", 30);
    // MLS receivers keep the keys of 10 skipped generations (ts-mls retainKeysForGenerations): a
    // sender whose POSTs overtake one another by fewer places than that cannot make a message
    // undecryptable by itself.
    const inFlight = Math.round(numberSetting("BENCH_E2E_IN_FLIGHT", 8));
    if (inFlight > MLS_RETAINED_GENERATIONS) {
      throw new Error(`BENCH_E2E_IN_FLIGHT must be at most ${MLS_RETAINED_GENERATIONS}`);
    }
    const count = Math.round(rate * seconds);
    const kind = deploymentKind(environment);
    const dir = mkdtempSync(join(tmpdir(), "mimi-bench-e2e-"));
    const deploymentStarted = performance.now();
    const deployment =
      kind === "split" ? await startSplit(environment, dir) : await startStandalone(environment, dir);
    const startupMs = performance.now() - deploymentStarted;
    let succeeded = false;
    try {
      const { connectTo } = deployment;
      const setupStarted = performance.now();
      // Names carry the run id: PostgreSQL databases keep the accounts of earlier runs.
      const alice = await signUp(dir, `alice_${environment.runId}`, deployment.servers[0], connectTo);
      const bob = await signUp(dir, `bob_${environment.runId}`, deployment.servers[1], connectTo);
      const channelUrl = await createChannelWith(alice, bob, connectTo);
      const cs = await loadCiphersuite();
      let aliceState = await storedState(alice, channelUrl);
      let bobState = await storedState(bob, channelUrl);
      const bobCursor = await mailboxCursorOf(bob);

      // Every message is encrypted before the loop: the offered load is the server's, not the sender's MLS.
      const activities: Array<Record<string, unknown> & { id: string }> = [];
      for (let i = 0; i < WARMUP_MESSAGES + count; i++) {
        const content = createTextContent({
          senderUri: alice.acct,
          roomUri: channelUrl,
          text: `message ${i}`,
        });
        const encrypted = await encryptApplicationMessage(aliceState, cs, encodeContent(content));
        aliceState = encrypted.newState;
        activities.push({
          "@context": ACTIVITY_CONTEXT,
          id: newActivityId(alice.actor),
          type: "Create",
          actor: alice.actor,
          target: channelUrl,
          to: [followersOf(channelUrl)],
          object: toWireObject(encrypted.message),
        });
      }
      const setupMs = performance.now() - setupStarted;

      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const warmupIds = new Set(activities.slice(0, WARMUP_MESSAGES).map((a) => a.id));
      let decryptFailures = 0;
      let firstFailure: string | undefined;
      let receivedTimed = 0;
      let receivedWarmup = 0;
      let lastReceivedAt = 0;
      let outOfOrder = 0;
      let lastIndex = -1;
      const indexOf = new Map(activities.map((activity, index) => [activity.id, index]));
      const stream = new AbortController();
      const listening = listenToMailbox(bob, bobCursor, stream.signal, async (activity) => {
        const id = String(activity.id);
        const started = sentAt.get(id);
        if (started === undefined) return;
        const index = indexOf.get(id) ?? 0;
        if (index < lastIndex) outOfOrder += 1;
        lastIndex = Math.max(lastIndex, index);
        const wire = fromWireObject(activity.object, "PrivateMessage");
        if (!wire.ok) {
          decryptFailures += 1;
          return;
        }
        const processed = await processIncoming(bobState, cs, wire.bytes);
        if (!processed.ok || processed.kind !== "application") {
          decryptFailures += 1;
          firstFailure ??= processed.ok
            ? `a ${processed.kind} instead of an application message`
            : processed.detail;
          return;
        }
        bobState = processed.newState;
        sentAt.delete(id);
        if (warmupIds.has(id)) receivedWarmup += 1;
        else {
          receivedTimed += 1;
          latencies.push(performance.now() - started);
          lastReceivedAt = performance.now();
        }
      });
      const aliceApi = alice.api;
      const send = async (activity: Record<string, unknown> & { id: string }) => {
        sentAt.set(activity.id, performance.now());
        await aliceApi.postActivity(alice.username, activity);
      };
      for (const activity of activities.slice(0, WARMUP_MESSAGES)) await send(activity);
      await waitUntil(() => receivedWarmup >= WARMUP_MESSAGES, 30_000);

      const timedActivities = activities.slice(WARMUP_MESSAGES);
      const timedStart = performance.now();
      const offered = await profiled("e2e", () =>
        runPacedSequence(
          rate,
          timedActivities.length,
          seconds * 1000,
          async (index) => {
            const activity = timedActivities[index];
            if (activity) await send(activity);
          },
          inFlight,
        ),
      );
      // The backlog a saturated pipeline builds up is given time to drain before anything counts as lost.
      await waitUntil(() => receivedTimed >= offered.sent, DRAIN_TIMEOUT_MS);
      stream.abort();
      await listening;

      const summary = summarizeLatencies(latencies);
      const lost = offered.sent - receivedTimed;

      // The one-to-one line, in the same run: a DM goes from a.test to bob's inbox with no channel.
      const dmRate = numberSetting("BENCH_E2E_DM_RATE", rate);
      const dm = await measureOneToOne(
        alice,
        bob,
        {
          connectTo,
          cs,
        },
        {
          rate: dmRate,
          count: Math.round(dmRate * numberSetting("BENCH_E2E_DM_SECONDS", 10)),
          inFlight,
          drainTimeoutMs: DRAIN_TIMEOUT_MS,
        },
      );
      const offeredNote = `${kind}, offered ${offered.offeredPerSecond.toFixed(0)} msg/s`;
      const metrics: Metric[] = [
        {
          scenario: "3 e2e",
          name: `latency p50 (${offeredNote})`,
          value: summary.p50,
          unit: "ms",
          target: { kind: "atMost", bound: 20 },
        },
        { scenario: "3 e2e", name: "latency p95", value: summary.p95, unit: "ms" },
        {
          scenario: "3 e2e",
          name: "latency p99",
          value: summary.p99,
          unit: "ms",
          target: { kind: "atMost", bound: 80 },
        },
        {
          scenario: "3 e2e",
          name: "outbox POST answered p50",
          value: offered.operationMs.p50,
          unit: "ms",
          reference: { name: "send interval", value: 1000 / rate },
        },
        {
          scenario: "3 e2e",
          name: "messages delivered/s (sent to decrypted)",
          value: ratePerSecond(receivedTimed, lastReceivedAt - timedStart),
          unit: "/s",
          reference: { name: "offered msg/s", value: offered.offeredPerSecond },
        },
        {
          scenario: "3 e2e",
          name: "messages lost",
          value: lost,
          unit: "msgs",
          reference: { name: "messages sent", value: offered.sent },
          target: { kind: "atMost", bound: 0 },
        },
        {
          scenario: "3 e2e",
          name: `one-to-one DM latency p50 (offered ${dm.offered.offeredPerSecond.toFixed(0)} msg/s)`,
          value: dm.latency.p50,
          unit: "ms",
          reference: { name: "channel message p50", value: summary.p50 },
        },
        {
          scenario: "3 e2e",
          name: "one-to-one DM latency p99",
          value: dm.latency.p99,
          unit: "ms",
          reference: { name: "channel message p99", value: summary.p99 },
        },
        {
          scenario: "3 e2e",
          name: "one-to-one DM messages lost",
          value: dm.lost,
          unit: "msgs",
          reference: { name: "DM messages sent", value: dm.offered.sent },
          target: { kind: "atMost", bound: 0 },
        },
      ];
      succeeded = true;
      const post = offered.operationMs;
      return {
        metrics,
        notes: [
          `${deployment.description}, started in ${(startupMs / 1000).toFixed(1)} s; alice@a.test hosts the channel, bob@b.test receives through the live SSE stream and decrypts; set up in ${(setupMs / 1000).toFixed(1)} s`,
          `${rate} msg/s requested for ${seconds} s, at most ${inFlight} POSTs in flight: ${offered.sent} sent, ${offeredNote} (${offered.lateStarts} started over an interval late, waiting for the POST ${inFlight} before, ${offered.errors} POSTs failed); outbox POST answered in p50 ${post.p50.toFixed(1)} / p99 ${post.p99.toFixed(1)} ms`,
          `${receivedTimed} received within ${DRAIN_TIMEOUT_MS / 1000} s of the last send (${outOfOrder} after a later one), ${decryptFailures} not decrypted${firstFailure ? ` (first: ${firstFailure})` : ""}`,
          `one-to-one DM (group on a.test, delivered straight to bob's inbox): ${dm.offered.sent} sent at ${dmRate} msg/s requested, ${dm.received} decrypted, ${dm.decryptFailures} not${dm.firstFailure ? ` (first: ${dm.firstFailure})` : ""}; latency p50 ${dm.latency.p50.toFixed(1)} / p99 ${dm.latency.p99.toFixed(1)} ms beside the channel's p50 ${summary.p50.toFixed(1)} / p99 ${summary.p99.toFixed(1)} ms`,
        ],
        details: {
          deployment: kind,
          inFlight,
          offered,
          latency: summary,
          lost,
          decryptFailures,
          outOfOrder,
          dm,
        },
      };
    } finally {
      await deployment.close();
      // A failed run keeps the split deployment's service logs for a look.
      if (succeeded || kind === "standalone") rmSync(dir, { recursive: true, force: true });
      else console.log(`   e2e service logs kept in ${dir}`);
    }
  },
};

const MLS_RETAINED_GENERATIONS = 10;

/** BENCH_E2E_DEPLOYMENT, else split when PostgreSQL, Redis and Kafka are all configured. */
function deploymentKind(environment: BenchEnvironment): DeploymentKind {
  const chosen = process.env.BENCH_E2E_DEPLOYMENT;
  const haveInfra = Boolean(environment.databaseUrl && environment.redisUrl && environment.kafkaBrokers);
  if (chosen === "standalone") return "standalone";
  if (chosen === "split") {
    if (!haveInfra)
      throw new Error("BENCH_E2E_DEPLOYMENT=split needs DATABASE_URL, REDIS_URL and KAFKA_BROKERS");
    return "split";
  }
  if (chosen !== undefined && chosen !== "") {
    throw new Error(`BENCH_E2E_DEPLOYMENT must be split or standalone, got ${chosen}`);
  }
  return haveInfra ? "split" : "standalone";
}

/** The split deployment of a.test and b.test, started empty (databases and topics of an earlier run dropped). */
/**
 * The scenario's one sender posts far faster than a person (hundreds of messages a second into one
 * channel): the pipeline is what is measured, so the per-user outbox limit and the channel's
 * per-member rate are lifted.
 */
const UNLIMITED_SENDER = {
  MIMI_OUTBOX_LIMIT_PER_USER: "0",
  MIMI_CHANNEL_MESSAGE_BURST: "1000000000",
  MIMI_CHANNEL_MESSAGES_PER_MINUTE: "1000000000",
};

async function startSplit(environment: BenchEnvironment, dir: string): Promise<E2eDeployment> {
  const { databaseUrl, redisUrl, kafkaBrokers } = environment;
  if (!databaseUrl || !redisUrl || !kafkaBrokers) throw new Error("the split deployment needs the infra");
  // Each service process profiles its whole life (V8 writes the profile when the process exits).
  const profileDir = process.env.BENCH_PROFILE_DIR
    ? resolve(process.env.BENCH_PROFILE_DIR, "e2e-split")
    : undefined;
  const deployment = await startSplitDeployment({
    domains: DOMAINS,
    infra: { databaseUrl, redisUrl, kafkaBrokers: kafkaBrokers.join(",") },
    stateDir: join(dir, "split"),
    prefix: "mimi_bench_split",
    fresh: true,
    env: {
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "silent",
      ...UNLIMITED_SENDER,
      ...serviceSettingsFrom(process.env.BENCH_SERVICE_ENV),
      ...(profileDir
        ? {
            NODE_OPTIONS: `--import ${pathToFileURL(PROCESS_PROFILE_PRELOAD).href}`,
            MIMI_BENCH_PROCESS_PROFILE_DIR: profileDir,
          }
        : {}),
    },
  });
  const urlOf = (domain: string) => {
    const provider = deployment.providers.get(domain);
    if (!provider) throw new Error(`no provider ${domain}`);
    return provider.url;
  };
  return {
    kind: "split",
    servers: [urlOf(DOMAINS[0]), urlOf(DOMAINS[1])],
    connectTo: deployment.connectTo,
    description:
      "split deployment (per provider: a front and five service processes, PostgreSQL database, Kafka topics, Redis keys)",
    close: async () => {
      const processes = [...deployment.providers.values()].flatMap((provider) => provider.processes);
      await deployment.stop();
      if (profileDir) nameProfilesByService(profileDir, processes);
    },
  };
}

const PROCESS_PROFILE_PRELOAD = fileURLToPath(new URL("../src/process-profile.mjs", import.meta.url));

/** `<pid>.cpuprofile` -> `<domain>-<service>-<replica>.cpuprofile`; the migration runs' profiles go. */
function nameProfilesByService(dir: string, processes: readonly ServiceProcess[]): void {
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir)) {
    const pid = /^(\d+)\.cpuprofile$/.exec(file)?.[1];
    if (pid === undefined) continue;
    const owner = processes.find((proc) => String(proc.child.pid) === pid);
    if (owner)
      renameSync(join(dir, file), join(dir, `${owner.domain}-${owner.service}-${owner.replica}.cpuprofile`));
    else rmSync(join(dir, file));
  }
}

/** Two standalone providers in this process, on PostgreSQL (one database each) or PGlite; in-process bus. */
async function startStandalone(environment: BenchEnvironment, dir: string): Promise<E2eDeployment> {
  const ports = await Promise.all(DOMAINS.map(() => freePort()));
  const connectTo = DOMAINS.map((domain, i) => `${domain}=127.0.0.1:${ports[i]}`).join(",");
  const providers: Array<{ close(): Promise<void> }> = [];
  const close = async () => {
    for (const provider of providers) await provider.close();
  };
  try {
    for (const [i, domain] of DOMAINS.entries()) {
      mkdirSync(join(dir, domain), { recursive: true });
      providers.push(
        await startProvider({
          host: "127.0.0.1",
          env: {
            MIMI_DOMAIN: domain,
            MIMI_PUBLIC_URL: `http://${domain}`,
            PORT: String(ports[i]),
            MIMI_DATA_DIR: join(dir, domain),
            MIMI_DEV_CONNECT_TO: connectTo,
            MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
            LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "silent",
            ...UNLIMITED_SENDER,
            // One PostgreSQL database per provider when DATABASE_URL is set; PGlite otherwise.
            ...(environment.databaseUrl
              ? { DATABASE_URL: await benchDatabaseUrl(environment.databaseUrl, `mimi_bench_${i}`) }
              : {}),
          },
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    kind: "standalone",
    servers: [`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[1]}`],
    connectTo,
    description: `two standalone providers in this process (${environment.databaseUrl ? "PostgreSQL, one database each" : "PGlite"}, in-process bus)`,
    close,
  };
}

async function signUp(dir: string, username: string, server: string, connectTo: string): Promise<Member> {
  const home = join(dir, `home-${username}`);
  const anonymous = new ProviderApi({ server });
  const created = await anonymous.createAccount(username, `${username} benchmark password`);
  const api = anonymous.withToken(created.token);
  const me = await api.me();
  await new StateStore(home).saveAccount({
    server,
    username: me.username,
    acct: me.acct,
    actor: me.actor,
    token: created.token,
  });
  const client = new MimiClient({ home, connectTo });
  const device = await client.addDevice(`${username}'s benchmark device`);
  await client.close();
  if (!device.keyPackages.ok) throw new Error(`${username}: KeyPackages were not uploaded`);
  return {
    handle: me.acct.replace(/^acct:/, ""),
    home,
    api,
    username: me.username,
    actor: me.actor,
    acct: me.acct,
  };
}

/** alice creates a channel and adds bob; returns once bob's client has joined it. */
async function createChannelWith(alice: Member, bob: Member, connectTo: string): Promise<string> {
  const aliceClient = new MimiClient({ home: alice.home, connectTo });
  const bobClient = new MimiClient({ home: bob.home, connectTo });
  try {
    const channel = await aliceClient.createChannel("benchmark");
    if (!(await aliceClient.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled)
      throw new Error("the channel was not created");
    await aliceClient.addMember(channel.url, bob.handle);
    if (!(await aliceClient.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled)
      throw new Error("bob was not added");
    await waitUntilAsync(async () => {
      await bobClient.sync();
      return (await bobClient.channels()).some((c) => c.url === channel.url);
    }, 30_000);
    return channel.url;
  } finally {
    await aliceClient.close();
    await bobClient.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `BENCH_SERVICE_ENV="MIMI_A=1,MIMI_B=x"`: settings handed to every process of the split deployment. */
function serviceSettingsFrom(list: string | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const entry of (list ?? "").split(",")) {
    const separator = entry.indexOf("=");
    if (separator <= 0) continue;
    settings[entry.slice(0, separator).trim()] = entry.slice(separator + 1).trim();
  }
  return settings;
}
