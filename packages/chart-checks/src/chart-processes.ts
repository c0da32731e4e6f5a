import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  databaseUrlFor,
  deleteTopicsWithPrefixes,
  type E2eDeploymentDescription,
  ensureDatabase,
  entryPointOf,
  freePort,
  labelOf,
  logTail,
  type RunningFront,
  SERVICES,
  type ServiceName,
  startFront,
  waitReady,
} from "@mimi/split";
import { stringify } from "yaml";
import { at, isRecord, type K8sObject, parseManifests } from "./manifests.ts";
import { chartDir, kubernetesVersion } from "./tools.ts";

/**
 * Runs a provider the way the chart configures it, as local processes: `helm template` renders the
 * release, and each Deployment's container (and each container of the migration Job, in order) becomes
 * one process started with exactly the container's `env`, with these local substitutions only:
 *
 * - the command: the image runs `node [--import ./dist/instrument.js] dist/main.js [args]` from the
 *   service's bundle; here it is `node --import tsx [--import @mimi/service-kit/instrument]
 *   services/<service>/src/main.ts [args]`, the sources the bundle is built from, so no build step
 *   runs first;
 * - `valueFrom.secretKeyRef` reads a Secret from the caller's map (anything else in `valueFrom` fails);
 * - `PORT` of a service process: a free local port instead of the container port 8080 (one host runs
 *   every process); the migration processes keep the rendered value (they do not listen);
 * - a value that is a URL naming one of the release's Services points
 *   at the local process of the service that Service selects (`http://127.0.0.1:<its port>`).
 *
 * Every other variable, name and value, is the chart's: a wrong name in the chart reaches the process.
 * In front of each provider a `@mimi/split` front routes public paths to the five processes as the
 * chart's Ingress does, and counts POSTs for the end-to-end suite.
 */

/** One entry of a container's `env`, as rendered. */
export interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** A container of the release: which service's image it runs, its args and its env. */
export interface ChartContainer {
  service: ServiceName;
  args: string[];
  env: EnvEntry[];
}

export interface ChartProcessPlan {
  /** One per Deployment, in the order of SERVICES. */
  services: ChartContainer[];
  /** The migration Job's init containers, then its container: the order the Job runs them. */
  migrations: ChartContainer[];
  /** Service object name -> the service its selector picks. */
  serviceHosts: Map<string, ServiceName>;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Secret name -> key -> value: what `secretKeyRef` reads. */
export type SecretStore = Record<string, Record<string, string>>;

function isServiceName(name: unknown): name is ServiceName {
  return typeof name === "string" && (SERVICES as readonly string[]).includes(name);
}

function containerOf(raw: unknown, service: ServiceName): Checked<ChartContainer> {
  const args = at(raw, "args");
  const command = at(raw, "command");
  const argv = [...(Array.isArray(command) ? command : []), ...(Array.isArray(args) ? args : [])];
  if (!argv.every((part): part is string => typeof part === "string")) {
    return { ok: false, reason: `${service}: command/args are not all strings` };
  }
  const env: EnvEntry[] = [];
  const rawEnv = at(raw, "env");
  for (const entry of Array.isArray(rawEnv) ? rawEnv : []) {
    if (!isRecord(entry) || typeof entry.name !== "string") {
      return { ok: false, reason: `${service}: an env entry has no name` };
    }
    env.push({
      name: entry.name,
      ...(entry.value !== undefined ? { value: String(entry.value) } : {}),
      ...(entry.valueFrom !== undefined ? { valueFrom: entry.valueFrom } : {}),
    });
  }
  return { ok: true, value: { service, args: argv, env } };
}

/** The processes a rendered release runs: Deployments, the migration Job, and where Services point. */
export function chartProcessPlan(objects: readonly K8sObject[]): Checked<ChartProcessPlan> {
  const services: ChartContainer[] = [];
  const migrations: ChartContainer[] = [];
  const serviceHosts = new Map<string, ServiceName>();
  for (const object of objects) {
    if (object.kind === "Deployment") {
      const containers = at(object, "spec.template.spec.containers");
      if (!Array.isArray(containers) || containers.length !== 1) {
        return { ok: false, reason: `Deployment ${object.metadata.name} must have one container` };
      }
      const name = at(containers[0], "name");
      if (!isServiceName(name)) return { ok: false, reason: `unknown service container ${String(name)}` };
      const container = containerOf(containers[0], name);
      if (!container.ok) return container;
      services.push(container.value);
    } else if (object.kind === "Job") {
      const init = at(object, "spec.template.spec.initContainers");
      const main = at(object, "spec.template.spec.containers");
      for (const raw of [...(Array.isArray(init) ? init : []), ...(Array.isArray(main) ? main : [])]) {
        const name = String(at(raw, "name") ?? "").replace(/^migrate-/, "");
        if (!isServiceName(name)) return { ok: false, reason: `unknown migration container ${name}` };
        const container = containerOf(raw, name);
        if (!container.ok) return container;
        migrations.push(container.value);
      }
    } else if (object.kind === "Service") {
      // Label keys contain dots, so the selector is read as a map rather than through `at`.
      const selected = at(object, "spec.selector");
      const target = isRecord(selected) ? selected["app.kubernetes.io/component"] : undefined;
      if (isServiceName(target)) serviceHosts.set(object.metadata.name, target);
    }
  }
  const missing = SERVICES.filter((service) => !services.some((container) => container.service === service));
  if (missing.length > 0) return { ok: false, reason: `no Deployment for ${missing.join(", ")}` };
  services.sort((left, right) => SERVICES.indexOf(left.service) - SERVICES.indexOf(right.service));
  return { ok: true, value: { services, migrations, serviceHosts } };
}

/**
 * The process environment of one container: literal values as rendered, secrets from `secrets`,
 * URLs naming a release Service rewritten by `localAddressOf`, and PORT replaced when `port` is given.
 */
export function resolveEnvironment(
  env: readonly EnvEntry[],
  context: {
    secrets: SecretStore;
    serviceHosts: ReadonlyMap<string, ServiceName>;
    localAddressOf: (service: ServiceName) => string;
    port?: number;
  },
): Checked<Record<string, string>> {
  const resolved: Record<string, string> = {};
  for (const entry of env) {
    if (entry.valueFrom !== undefined) {
      const secretName = at(entry.valueFrom, "secretKeyRef.name");
      const key = at(entry.valueFrom, "secretKeyRef.key");
      if (typeof secretName !== "string" || typeof key !== "string") {
        return { ok: false, reason: `${entry.name}: only valueFrom.secretKeyRef is supported` };
      }
      const value = context.secrets[secretName]?.[key];
      if (value === undefined) {
        return { ok: false, reason: `${entry.name}: Secret ${secretName} has no key ${key}` };
      }
      resolved[entry.name] = value;
      continue;
    }
    resolved[entry.name] = rewriteServiceUrl(entry.value ?? "", context.serviceHosts, context.localAddressOf);
  }
  if (context.port !== undefined) resolved.PORT = String(context.port);
  return { ok: true, value: resolved };
}

function rewriteServiceUrl(
  value: string,
  serviceHosts: ReadonlyMap<string, ServiceName>,
  localAddressOf: (service: ServiceName) => string,
): string {
  if (!/^https?:\/\//.test(value)) return value;
  const url = new URL(value);
  const service = serviceHosts.get(url.hostname);
  if (!service) return value;
  const local = new URL(localAddressOf(service));
  url.protocol = local.protocol;
  url.host = local.host;
  return url.toString().replace(/\/$/, value.endsWith("/") ? "/" : "");
}

/** The image's tracing preload and the source module it is built from. */
const BUNDLED_PRELOAD = ["--import", "./dist/instrument.js"] as const;
const SOURCE_PRELOAD = ["--import", "@mimi/service-kit/instrument"] as const;

/**
 * `node [--import ./dist/instrument.js] dist/main.js [args]` (the image's command) -> this node with tsx
 * running the service's source, with the tracing preload when the chart asks for it.
 */
export function localCommandOf(container: ChartContainer): Checked<string[]> {
  const [program, ...afterProgram] = container.args;
  const preloaded = afterProgram[0] === BUNDLED_PRELOAD[0] && afterProgram[1] === BUNDLED_PRELOAD[1];
  const [entry, ...rest] = preloaded ? afterProgram.slice(2) : afterProgram;
  if (program !== "node" || entry !== "dist/main.js") {
    return {
      ok: false,
      reason: `${container.service}: expected "node [--import ./dist/instrument.js] dist/main.js", got ${container.args.join(" ")}`,
    };
  }
  return {
    ok: true,
    value: [
      process.execPath,
      "--import",
      "tsx",
      ...(preloaded ? SOURCE_PRELOAD : []),
      entryPointOf(container.service),
      ...rest,
    ],
  };
}

/** Values for one provider in development mode against local infrastructure. */
export function developmentValues(input: {
  domain: string;
  secretName: string;
  devConnectTo: string;
  kafkaBrokers: string;
  /** Added to `serviceDefaults.env` (the chart's place for extra settings). */
  env: Record<string, string>;
}): Record<string, unknown> {
  return {
    domain: input.domain,
    publicUrl: `http://${input.domain}`,
    environment: "development",
    logLevel: "info",
    existingSecret: input.secretName,
    devConnectTo: input.devConnectTo,
    kafka: { brokers: input.kafkaBrokers.split(",") },
    serviceDefaults: { replicaCount: 1, autoscaling: { enabled: false }, env: input.env },
  };
}

/** `helm template <release>` of the chart with one values file. */
export function renderRelease(helm: string, release: string, valuesFile: string): K8sObject[] {
  const output = execFileSync(
    helm,
    ["template", release, chartDir, "--kube-version", kubernetesVersion, "-f", valuesFile],
    { encoding: "utf8" },
  );
  return parseManifests(output);
}

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function spawnLogged(argv: string[], env: Record<string, string>, log: string): ChildProcess {
  const [program, ...args] = argv;
  const out = createWriteStream(log, { flags: "a" });
  // `--import tsx` resolves from the working directory: this package depends on tsx. Only PATH and
  // HOME come from the caller; everything the service reads is the chart's.
  const child = spawn(program ?? process.execPath, args, {
    cwd: packageDir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface ChartDeploymentOptions {
  helm: string;
  domains: readonly string[];
  infra: { databaseUrl: string; redisUrl: string; kafkaBrokers: string };
  /** Values files, renders, logs and POST logs (one folder per domain). */
  stateDir: string;
  /** Names the databases (`<prefix>_<domain label>`) and Kafka topic prefixes (`<prefix>.<label>.`). */
  prefix: string;
  /** Drop the databases and Kafka topics first. */
  fresh?: boolean;
  /** Extra `serviceDefaults.env` values (e.g. fast delivery retries for tests). */
  env?: Record<string, string>;
  /** Changes the rendered objects before they are run (to show a broken chart is caught). */
  transformManifests?: (objects: K8sObject[]) => K8sObject[];
  readyTimeoutMs?: number;
}

export interface ChartDeployment {
  describeForE2e(): E2eDeploymentDescription;
  stop(): Promise<void>;
}

const SECRET_NAME = "mimi-secrets";

/** Renders the chart once per domain and runs each release's migrations, then its services, locally. */
export async function startChartDeployment(options: ChartDeploymentOptions): Promise<ChartDeployment> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const topicPrefixOf = (domain: string) => `${options.prefix}.${labelOf(domain)}.`;
  if (options.fresh) {
    await deleteTopicsWithPrefixes(options.infra.kafkaBrokers, options.domains.map(topicPrefixOf));
  }
  const runId = randomBytes(4).toString("hex");
  // The end-to-end suite runs its hostile provider on this port.
  const hostilePort = await freePort();
  const plans = [];
  for (const domain of options.domains) {
    const ports = new Map<ServiceName, number>();
    for (const service of SERVICES) ports.set(service, await freePort());
    plans.push({ domain, frontPort: await freePort(), ports });
  }
  const connectTo = [
    ...plans.map((plan) => `${plan.domain}=127.0.0.1:${plan.frontPort}`),
    `evil.test=127.0.0.1:${hostilePort}`,
  ].join(",");

  const fronts = new Map<string, { front: RunningFront; postLog: string }>();
  const processes: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((child) => stopProcess(child)));
    await Promise.all([...fronts.values()].map(({ front }) => front.close()));
  };

  try {
    await Promise.all(
      plans.map(async (plan) => {
        const dir = join(options.stateDir, plan.domain);
        mkdirSync(dir, { recursive: true });
        const database = `${labelOf(options.prefix)}_${labelOf(plan.domain)}`;
        await ensureDatabase(options.infra.databaseUrl, database, options.fresh ?? false);
        const secrets: SecretStore = {
          [SECRET_NAME]: {
            DATABASE_URL: databaseUrlFor(options.infra.databaseUrl, database),
            REDIS_URL: options.infra.redisUrl,
            MIMI_KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
          },
        };
        const valuesFile = join(dir, "values.yaml");
        writeFileSync(
          valuesFile,
          stringify(
            developmentValues({
              domain: plan.domain,
              secretName: SECRET_NAME,
              devConnectTo: connectTo,
              kafkaBrokers: options.infra.kafkaBrokers,
              env: {
                // Several providers share one Kafka and one Redis: the chart's extra env keeps them apart.
                MIMI_KAFKA_TOPIC_PREFIX: topicPrefixOf(plan.domain),
                MIMI_KEYPACKAGE_REDIS_PREFIX: `${options.prefix}:${runId}:${plan.domain}:kp:`,
                // Rate-limit counts (sign-ups per address among them) start from zero in every run.
                MIMI_RATE_LIMIT_REDIS_PREFIX: `${options.prefix}:${runId}:rl:`,
                ...options.env,
              },
            }),
          ),
        );
        // Release names become Service names (DNS labels, no dots): a-test for a.test.
        const rendered = renderRelease(options.helm, plan.domain.replace(/\./g, "-"), valuesFile);
        const objects = options.transformManifests ? options.transformManifests(rendered) : rendered;
        const processPlan = chartProcessPlan(objects);
        if (!processPlan.ok) throw new Error(`${plan.domain}: ${processPlan.reason}`);
        const { services, migrations, serviceHosts } = processPlan.value;
        const portOf = (service: ServiceName) => plan.ports.get(service) ?? 0;
        const environmentOf = (container: ChartContainer, port: number | undefined) => {
          const env = resolveEnvironment(container.env, {
            secrets,
            serviceHosts,
            localAddressOf: (service) => `http://127.0.0.1:${portOf(service)}`,
            ...(port !== undefined ? { port } : {}),
          });
          if (!env.ok) throw new Error(`${plan.domain} ${container.service}: ${env.reason}`);
          return env.value;
        };
        const commandOf = (container: ChartContainer) => {
          const command = localCommandOf(container);
          if (!command.ok) throw new Error(`${plan.domain}: ${command.reason}`);
          return command.value;
        };

        const postLog = join(dir, "posts.log");
        writeFileSync(postLog, "");
        const upstreams = Object.fromEntries(
          SERVICES.map((service) => [service, [portOf(service)]]),
        ) as Record<ServiceName, number[]>;
        fronts.set(plan.domain, {
          front: await startFront({ upstreams, port: plan.frontPort, postLog }),
          postLog,
        });

        // As the Job does: one migration container after another, each only when the previous succeeded.
        for (const container of migrations) {
          const log = join(dir, `migrate-${container.service}.log`);
          const child = spawnLogged(commandOf(container), environmentOf(container, undefined), log);
          processes.push(child);
          const code = await new Promise<number | null>((done) =>
            child.on("exit", (exitCode) => done(exitCode)),
          );
          if (code !== 0)
            throw new Error(`${plan.domain} migrate-${container.service} exited ${code}:\n${logTail(log)}`);
        }
        const running = services.map((container) => {
          const log = join(dir, `${container.service}.log`);
          const port = portOf(container.service);
          const child = spawnLogged(commandOf(container), environmentOf(container, port), log);
          processes.push(child);
          return { child, port, log, label: `${plan.domain} ${container.service}` };
        });
        await Promise.all(running.map((proc) => waitReady(proc, readyTimeoutMs)));
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    describeForE2e: () => ({
      connectTo,
      servers: Object.fromEntries(
        [...fronts].map(([domain, { front }]) => [domain, `http://127.0.0.1:${front.port}`]),
      ),
      postLogs: Object.fromEntries([...fronts].map(([domain, { postLog }]) => [domain, postLog])),
      hostilePort,
    }),
    stop,
  };
}
