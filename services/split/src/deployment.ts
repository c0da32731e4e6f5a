import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { type RunningFront, startFront } from "./front.js";
import { freePort, logTail, waitReady } from "./processes.js";
import { SERVICES, type ServiceName } from "./routes.js";
import {
  DEFAULT_RESTART_POLICY,
  describeExit,
  nextRestartAttempt,
  type RestartPolicy,
  type RestartRecord,
  restartDelayMs,
  restartLine,
} from "./supervision.js";

/**
 * A split deployment on one machine: for each domain, the five services as separate processes (each its
 * own `src/main.ts`) on one PostgreSQL database per provider, Kafka topics and Redis keys under a
 * per-provider prefix, and a front that routes public paths to them. Every provider maps every domain
 * to its front with MIMI_DEV_CONNECT_TO, so they federate over plain HTTP on 127.0.0.1.
 */
export interface SplitDeploymentOptions {
  domains: readonly string[];
  /** Connection settings of the shared backing services (as `scripts/infra env` prints). */
  infra: { databaseUrl: string; redisUrl: string; kafkaBrokers: string };
  /** Keys, logs and POST logs live here (one folder per domain). */
  stateDir: string;
  /** Names databases (`<prefix>_<label>`), Kafka topics (`<prefix>.<domain>.`) and Redis keys. */
  prefix: string;
  /** First port to use (front, then services, ten ports per domain); 0 picks free ports. */
  basePort?: number;
  /** Replicas per service (default 1 each). HTTP requests go round-robin; consumers split partitions. */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Drop the provider databases and Kafka topics first, for a deployment that starts empty. */
  fresh?: boolean;
  /** Extra environment for every service process. */
  env?: Record<string, string>;
  /**
   * Also map `evil.test` to a free local port that nothing here listens on: the end-to-end suite runs
   * its hostile provider there (`hostilePort` in `describeForE2e`).
   */
  hostile?: boolean;
  /** How long to wait for each service's /readyz (default 120 s). */
  readyTimeoutMs?: number;
  /** Restart backoff of supervised processes (default 0.5 s doubling to 10 s, reset after 30 s up). */
  restartPolicy?: Partial<RestartPolicy>;
  /** Called for every restart (default: the line goes to stderr); always appended to `<state>/supervisor.log`. */
  onRestart?: (record: RestartRecord) => void;
}

/**
 * ready: running and answering /readyz (the front routes to it); starting: started (again), not ready
 * yet; down: exited, a restart is scheduled; stopped: stopped on purpose, not restarted.
 */
export type ServiceStatus = "ready" | "starting" | "down" | "stopped";

export interface ServiceProcess {
  domain: string;
  service: ServiceName;
  replica: number;
  port: number;
  /** The current process; supervision replaces it when it starts the service again. */
  child: ChildProcess;
  log: string;
  status: ServiceStatus;
  /** How many times supervision started this service again after it exited. */
  restarts: number;
}

export interface SplitProvider {
  domain: string;
  databaseUrl: string;
  front: RunningFront;
  /** Where a client reaches this provider (its front). */
  url: string;
  postLog: string;
  processes: ServiceProcess[];
}

/** What the end-to-end suite reads from MIMI_E2E_DEPLOYMENT. */
export interface E2eDeploymentDescription {
  connectTo: string;
  servers: Record<string, string>;
  postLogs: Record<string, string>;
  /** The local port `evil.test` is mapped to, for the suite's hostile provider. */
  hostilePort?: number;
}

export interface SplitDeployment {
  providers: Map<string, SplitProvider>;
  connectTo: string;
  describeForE2e(): E2eDeploymentDescription;
  /** Starts another replica of `service` for `domain` (replica tests). */
  addReplica(domain: string, service: ServiceName): Promise<ServiceProcess>;
  /**
   * SIGKILLs one process (a crash); the front stops routing to it and supervision starts it again
   * after its backoff, or after `downForMs` when given. Resolves once the process has exited.
   */
  kill(process: ServiceProcess, options?: { downForMs?: number }): Promise<void>;
  /** Resolves when the process is running and ready again (the front routes to it). */
  whenReady(process: ServiceProcess, timeoutMs?: number): Promise<void>;
  /** Stops one process on purpose (SIGTERM): it stays down until `startService`. */
  stopService(process: ServiceProcess): Promise<void>;
  /** Starts a process stopped with `stopService` again and waits until it is ready. */
  startService(process: ServiceProcess): Promise<void>;
  /** Every restart supervision scheduled, in order. */
  restarts: RestartRecord[];
  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and the fronts; nothing is restarted. */
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const REPOSITORY_ROOT = resolve(here, "../../..");
const SPLIT_PACKAGE = resolve(here, "..");

export function entryPointOf(service: ServiceName): string {
  return join(REPOSITORY_ROOT, "services", service, "src", "main.ts");
}

/** `a.test` -> `a_test`: a database-name and topic-safe label. */
export function labelOf(domain: string): string {
  return domain.replace(/[^A-Za-z0-9]/g, "_").toLowerCase();
}

export function databaseUrlFor(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The environment of one service process (see README.md, "Environment per service"). */
export function serviceEnvironment(input: {
  domain: string;
  service: ServiceName;
  port: number;
  databaseUrl: string;
  infra: SplitDeploymentOptions["infra"];
  kafkaTopicPrefix: string;
  redisKeyPrefix: string;
  /** Rate-limit counts: per start of a deployment, so a rerun does not inherit the last run's counts. */
  rateLimitRedisPrefix: string;
  keyEncryptionKey: string;
  connectTo: string;
  dataDir: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  const env: Record<string, string> = {
    MIMI_DOMAIN: input.domain,
    MIMI_PUBLIC_URL: `http://${input.domain}`,
    PORT: String(input.port),
    DATABASE_URL: input.databaseUrl,
    MIMI_KEY_ENCRYPTION_KEY: input.keyEncryptionKey,
    MIMI_DEV_CONNECT_TO: input.connectTo,
    MIMI_DATA_DIR: input.dataDir,
    // Traces (when OTEL_* turns them on) say which provider a span came from.
    OTEL_RESOURCE_ATTRIBUTES: `service.namespace=${input.domain}`,
  };
  if (
    input.service === "inbox-ingest" ||
    input.service === "channel-sequencer" ||
    input.service === "delivery-fanout"
  ) {
    env.KAFKA_BROKERS = input.infra.kafkaBrokers;
    env.MIMI_KAFKA_TOPIC_PREFIX = input.kafkaTopicPrefix;
  }
  if (input.service === "keypackage-directory") {
    env.REDIS_URL = input.infra.redisUrl;
    env.MIMI_KEYPACKAGE_REDIS_PREFIX = input.redisKeyPrefix;
  }
  if (input.service === "identity" || input.service === "inbox-ingest") {
    // Rate-limit counts shared by the replicas, apart from other deployments on the same Redis.
    env.REDIS_URL = input.infra.redisUrl;
    env.MIMI_RATE_LIMIT_REDIS_PREFIX = input.rateLimitRedisPrefix;
  }
  if (input.service === "delivery-fanout") env.MIMI_MAILBOX_NOTIFIER = "postgres";
  return { ...env, ...input.extra };
}

/** Creates `database` on the server of `adminUrl` unless it exists; `fresh` drops it first. */
export async function ensureDatabase(adminUrl: string, database: string, fresh: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // Identifiers cannot be parameters; `labelOf` keeps the name to [a-z0-9_].
    if (fresh) await client.query(`drop database if exists "${database}" with (force)`);
    const found = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`create database "${database}"`);
  } finally {
    await client.end();
  }
}

/** Deletes the Kafka topics whose names start with one of `prefixes`. */
export async function deleteTopicsWithPrefixes(
  brokers: string,
  prefixes: readonly string[],
): Promise<number> {
  const kafka = new Kafka({
    clientId: "mimi-split",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => prefixes.some((p) => topic.startsWith(p)));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}

function keyEncryptionKeyFor(dir: string): string {
  const file = join(dir, "key-encryption-key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** Runs `main.ts migrate` of one service; rejects with the tail of its output when it fails. */
async function migrate(service: ServiceName, env: Record<string, string>, log: string): Promise<void> {
  const child = spawnService(service, env, ["migrate"], log);
  const code = await new Promise<number | null>((done) => child.on("exit", (exitCode) => done(exitCode)));
  if (code !== 0) throw new Error(`${service} migrate exited ${code}:\n${logTail(log)}`);
}

function spawnService(
  service: ServiceName,
  env: Record<string, string>,
  args: string[],
  log: string,
): ChildProcess {
  const out = createWriteStream(log, { flags: "a" });
  // `--import` resolves from the working directory: this package depends on tsx and service-kit. The
  // second preload installs the tracing instrumentations (when OTEL_* asks for traces) before the
  // service's modules load, as the images do with `--import ./dist/instrument.js`.
  const preloads = ["--import", "tsx", "--import", "@mimi/service-kit/instrument"];
  const child = spawn(process.execPath, [...preloads, entryPointOf(service), ...args], {
    cwd: SPLIT_PACKAGE,
    env: { ...inheritedEnvironment(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

/** The caller's PATH and OpenTelemetry settings reach the services; its MIMI_* and database settings do not. */
function inheritedEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      ["PATH", "HOME", "TMPDIR", "NODE_OPTIONS", "KAFKAJS_NO_PARTITIONER_WARNING"].includes(name) ||
      name.startsWith("OTEL_")
    ) {
      env[name] = value;
    }
  }
  env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1";
  return env;
}

async function stopProcess(proc: ServiceProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function startSplitDeployment(options: SplitDeploymentOptions): Promise<SplitDeployment> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const basePort = options.basePort ?? 0;
  const portFor = async (domainIndex: number, slot: number) =>
    basePort === 0 ? freePort() : basePort + domainIndex * 10 + slot;
  const topicPrefixOf = (domain: string) => `${options.prefix}.${labelOf(domain)}.`;
  mkdirSync(options.stateDir, { recursive: true });

  if (options.fresh) {
    await deleteTopicsWithPrefixes(options.infra.kafkaBrokers, options.domains.map(topicPrefixOf));
  }

  // Ports first: every provider's host mapping names every front.
  const plans = [];
  for (const [index, domain] of options.domains.entries()) {
    const frontPort = await portFor(index, 0);
    const servicePorts = new Map<ServiceName, number[]>();
    let slot = 1;
    for (const service of SERVICES) {
      const ports: number[] = [];
      for (let replica = 0; replica < (options.replicas?.[service] ?? 1); replica++) {
        ports.push(await portFor(index, slot++));
      }
      servicePorts.set(service, ports);
    }
    plans.push({ domain, index, frontPort, servicePorts });
  }
  const hostilePort = options.hostile
    ? basePort === 0
      ? await freePort()
      : basePort + options.domains.length * 10
    : undefined;
  const connectTo = [
    ...plans.map((plan) => `${plan.domain}=127.0.0.1:${plan.frontPort}`),
    ...(hostilePort === undefined ? [] : [`evil.test=127.0.0.1:${hostilePort}`]),
  ].join(",");

  const providers = new Map<string, SplitProvider>();
  const envFor = new Map<string, (service: ServiceName, port: number) => Record<string, string>>();
  const logDirOf = (domain: string) => join(options.stateDir, domain, "logs");

  // Supervision: a process that exits on its own is started again, as a cluster restarts a container.
  const policy: RestartPolicy = { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy };
  const restarts: RestartRecord[] = [];
  const supervisorLog = join(options.stateDir, "supervisor.log");
  const supervision = new Map<
    ServiceProcess,
    { attempt: number; startedAt: number; holdMs?: number; timer?: NodeJS.Timeout }
  >();
  let stopping = false;
  const frontOf = (proc: ServiceProcess) => providers.get(proc.domain)?.front;

  const becomeReadyOrRestart = (proc: ServiceProcess) => {
    const child = proc.child;
    waitReady({ ...proc, label: `${proc.domain} ${proc.service}` }, readyTimeoutMs).then(
      () => {
        if (proc.child !== child || proc.status !== "starting") return;
        proc.status = "ready";
        frontOf(proc)?.addUpstream(proc.service, proc.port);
      },
      () => {
        // Never ready (a failed liveness check in a cluster): kill it, and the exit restarts it.
        if (proc.child === child && child.exitCode === null && child.signalCode === null)
          child.kill("SIGKILL");
      },
    );
  };

  const start = (proc: ServiceProcess) => {
    const environment = envFor.get(proc.domain);
    if (!environment) throw new Error(`no provider ${proc.domain}`);
    proc.child = spawnService(proc.service, environment(proc.service, proc.port), [], proc.log);
    proc.status = "starting";
    const state = supervision.get(proc);
    if (state) state.startedAt = Date.now();
    watch(proc);
    becomeReadyOrRestart(proc);
  };

  const onExit = (proc: ServiceProcess, child: ChildProcess) => {
    if (proc.child !== child) return;
    frontOf(proc)?.removeUpstream(proc.service, proc.port);
    const state = supervision.get(proc);
    if (stopping || proc.status === "stopped" || !state) return;
    const exitedAt = Date.now();
    const attempt = nextRestartAttempt(state.attempt, exitedAt - state.startedAt, policy);
    const delayMs = state.holdMs ?? restartDelayMs(attempt, policy);
    state.attempt = attempt;
    delete state.holdMs;
    proc.status = "down";
    const record: RestartRecord = {
      domain: proc.domain,
      service: proc.service,
      replica: proc.replica,
      exit: describeExit(child.exitCode, child.signalCode),
      attempt,
      delayMs,
      exitedAt,
    };
    restarts.push(record);
    const line = restartLine(record);
    appendFileSync(supervisorLog, `${new Date(exitedAt).toISOString()} ${line}\n`);
    appendFileSync(proc.log, `${line}\n`);
    if (options.onRestart) options.onRestart(record);
    else process.stderr.write(`${line}\n`);
    scheduleRestart(proc, delayMs);
  };

  const scheduleRestart = (proc: ServiceProcess, delayMs: number) => {
    const state = supervision.get(proc);
    if (!state) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      delete state.timer;
      if (stopping || proc.status !== "down") return;
      proc.restarts += 1;
      start(proc);
    }, delayMs);
  };

  const watch = (proc: ServiceProcess) => {
    const child = proc.child;
    child.once("exit", () => onExit(proc, child));
  };

  /** Supervision begins once a process was first ready: a start-up failure fails the deployment instead. */
  const supervise = (proc: ServiceProcess) => {
    supervision.set(proc, { attempt: 0, startedAt: Date.now() });
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) onExit(proc, proc.child);
    else watch(proc);
  };

  const stopAll = async () => {
    stopping = true;
    for (const state of supervision.values()) clearTimeout(state.timer);
    const all = [...providers.values()].flatMap((provider) => provider.processes);
    for (const proc of all) proc.status = "stopped";
    await Promise.all(all.map((proc) => stopProcess(proc)));
    await Promise.all([...providers.values()].map((provider) => provider.front.close()));
  };

  const runId = randomBytes(4).toString("hex");
  try {
    await Promise.all(
      plans.map(async (plan) => {
        const dir = join(options.stateDir, plan.domain);
        mkdirSync(logDirOf(plan.domain), { recursive: true });
        const database = `${labelOf(options.prefix)}_${labelOf(plan.domain)}`;
        await ensureDatabase(options.infra.databaseUrl, database, options.fresh ?? false);
        const databaseUrl = databaseUrlFor(options.infra.databaseUrl, database);
        const keyEncryptionKey = keyEncryptionKeyFor(dir);
        const environment = (service: ServiceName, port: number) =>
          serviceEnvironment({
            domain: plan.domain,
            service,
            port,
            databaseUrl,
            infra: options.infra,
            kafkaTopicPrefix: topicPrefixOf(plan.domain),
            redisKeyPrefix: `${options.prefix}:${plan.domain}:kp:`,
            rateLimitRedisPrefix: `${options.prefix}:${runId}:rl:`,
            keyEncryptionKey,
            connectTo,
            dataDir: join(dir, "data", service),
            ...(options.env ? { extra: options.env } : {}),
          });
        envFor.set(plan.domain, environment);
        const postLog = join(dir, "posts.log");
        writeFileSync(postLog, "");
        const upstreams = Object.fromEntries(
          SERVICES.map((service) => [service, plan.servicePorts.get(service) ?? []]),
        ) as Record<ServiceName, number[]>;
        const front = await startFront({ upstreams, port: plan.frontPort, postLog });
        const provider: SplitProvider = {
          domain: plan.domain,
          databaseUrl,
          front,
          url: `http://127.0.0.1:${front.port}`,
          postLog,
          processes: [],
        };
        providers.set(plan.domain, provider);

        // Identity first: it owns the `keys` and `identity` schemas the others read.
        const migrationLog = join(logDirOf(plan.domain), "migrate.log");
        await migrate("identity", environment("identity", 0), migrationLog);
        await Promise.all(
          SERVICES.filter((service) => service !== "identity").map((service) =>
            migrate(service, environment(service, 0), migrationLog),
          ),
        );
        for (const service of SERVICES) {
          for (const [replica, port] of (plan.servicePorts.get(service) ?? []).entries()) {
            const log = join(logDirOf(plan.domain), `${service}-${replica}.log`);
            const child = spawnService(service, environment(service, port), [], log);
            provider.processes.push({
              domain: plan.domain,
              service,
              replica,
              port,
              child,
              log,
              status: "starting",
              restarts: 0,
            });
          }
        }
        await Promise.all(
          provider.processes.map(async (proc) => {
            await waitReady({ ...proc, label: `${proc.domain} ${proc.service}` }, readyTimeoutMs);
            proc.status = "ready";
            supervise(proc);
          }),
        );
      }),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  const providerOf = (domain: string) => {
    const provider = providers.get(domain);
    if (!provider) throw new Error(`no provider ${domain}`);
    return provider;
  };

  const deployment: SplitDeployment = {
    providers,
    connectTo,
    describeForE2e: () => ({
      connectTo,
      servers: Object.fromEntries([...providers].map(([domain, provider]) => [domain, provider.url])),
      postLogs: Object.fromEntries([...providers].map(([domain, provider]) => [domain, provider.postLog])),
      ...(hostilePort === undefined ? {} : { hostilePort }),
    }),
    async addReplica(domain, service) {
      const provider = providerOf(domain);
      const environment = envFor.get(domain);
      if (!environment) throw new Error(`no provider ${domain}`);
      const replica = provider.processes.filter((proc) => proc.service === service).length;
      const port = await freePort();
      const log = join(logDirOf(domain), `${service}-${replica}.log`);
      const child = spawnService(service, environment(service, port), [], log);
      const proc: ServiceProcess = {
        domain,
        service,
        replica,
        port,
        child,
        log,
        status: "starting",
        restarts: 0,
      };
      provider.processes.push(proc);
      await waitReady({ ...proc, label: `${proc.domain} ${proc.service}` }, readyTimeoutMs);
      proc.status = "ready";
      supervise(proc);
      provider.front.addUpstream(service, port);
      return proc;
    },
    async kill(proc, killOptions = {}) {
      providerOf(proc.domain).front.removeUpstream(proc.service, proc.port);
      const state = supervision.get(proc);
      if (state && killOptions.downForMs !== undefined) {
        // Already down and waiting for its restart: wait the asked time from now instead.
        if (proc.status === "down") scheduleRestart(proc, killOptions.downForMs);
        else state.holdMs = killOptions.downForMs;
      }
      await stopProcess(proc, "SIGKILL");
    },
    async whenReady(proc, timeoutMs = readyTimeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (proc.status !== "ready") {
        if (proc.status === "stopped") throw new Error(`${proc.domain} ${proc.service} was stopped`);
        if (Date.now() > deadline) {
          throw new Error(
            `${proc.domain} ${proc.service} not ready again within ${timeoutMs} ms:\n${logTail(proc.log)}`,
          );
        }
        await new Promise((done) => setTimeout(done, 100));
      }
    },
    async stopService(proc) {
      proc.status = "stopped";
      const state = supervision.get(proc);
      if (state) {
        clearTimeout(state.timer);
        delete state.timer;
      }
      providerOf(proc.domain).front.removeUpstream(proc.service, proc.port);
      await stopProcess(proc);
    },
    async startService(proc) {
      if (proc.status !== "stopped") return;
      const state = supervision.get(proc);
      if (state) state.attempt = 0;
      start(proc);
      await deployment.whenReady(proc);
    },
    restarts,
    stop: stopAll,
  };
  return deployment;
}
