/**
 * `split up` starts a split deployment in the foreground (Ctrl-C or `split down` stops it);
 * `split down` stops the one running from the same state folder. Needs DATABASE_URL, REDIS_URL and
 * KAFKA_BROKERS (`eval "$(bash scripts/infra env)"`).
 *
 *   split up [--domains a.test,b.test,c.test] [--base-port 18080] [--state <dir>] [--fresh]
 *   split down [--state <dir>]
 *   split faults [--short | --long] [--state <dir>] [--keep-infra]
 *
 * `faults` runs the fault suite (src/faults) on backing services of its own and exits 1 when the short
 * run's targets were missed.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { REPOSITORY_ROOT, startSplitDeployment } from "./deployment.js";
import { runFaultSuite } from "./faults/suite.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    domains: { type: "string", default: "a.test,b.test,c.test" },
    "base-port": { type: "string", default: "18080" },
    state: { type: "string" },
    prefix: { type: "string", default: "mimi_split" },
    fresh: { type: "boolean", default: false },
    short: { type: "boolean", default: false },
    long: { type: "boolean", default: false },
    "keep-infra": { type: "boolean", default: false },
  },
});
const defaultState = join(REPOSITORY_ROOT, ".split", ...(positionals[0] === "faults" ? ["faults"] : []));
const stateDir = resolve(values.state ?? defaultState);
const pidFile = join(stateDir, "split.pid");

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is not set: run eval "$(bash scripts/infra env)" first\n`);
    process.exit(78);
  }
  return value;
}

async function up(): Promise<void> {
  if (existsSync(pidFile)) {
    process.stderr.write(
      `a split deployment already runs from ${stateDir} (pid ${readFileSync(pidFile, "utf8")})\n`,
    );
    process.exit(1);
  }
  const started = Date.now();
  const deployment = await startSplitDeployment({
    domains: values.domains.split(",").filter((domain) => domain.length > 0),
    infra: {
      databaseUrl: required("DATABASE_URL"),
      redisUrl: required("REDIS_URL"),
      kafkaBrokers: required("KAFKA_BROKERS"),
    },
    stateDir,
    prefix: values.prefix,
    basePort: Number(values["base-port"]),
    fresh: values.fresh,
    hostile: true,
  });
  writeFileSync(pidFile, String(process.pid));
  const description = deployment.describeForE2e();
  writeFileSync(join(stateDir, "e2e-deployment.json"), JSON.stringify(description));
  process.stdout.write(`split deployment ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const provider of deployment.providers.values()) {
    const ports = provider.processes.map((proc) => `${proc.service}:${proc.port}`).join(" ");
    process.stdout.write(
      `  ${provider.domain}  front ${provider.url}  (${ports})  logs ${join(stateDir, provider.domain, "logs")}\n`,
    );
  }
  process.stdout.write(`MIMI_DEV_CONNECT_TO=${deployment.connectTo}\n`);
  process.stdout.write(`MIMI_E2E_DEPLOYMENT: ${join(stateDir, "e2e-deployment.json")}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("stopping\n");
    await deployment.stop();
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function down(): Promise<void> {
  if (!existsSync(pidFile)) {
    process.stdout.write(`no split deployment runs from ${stateDir}\n`);
    return;
  }
  const pid = Number(readFileSync(pidFile, "utf8"));
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    rmSync(pidFile, { force: true });
    process.stdout.write(`pid ${pid} was not running; removed the stale pid file\n`);
    return;
  }
  const deadline = Date.now() + 30_000;
  while (existsSync(pidFile) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
  process.stdout.write(existsSync(pidFile) ? `pid ${pid} did not stop within 30 s\n` : "stopped\n");
}

async function faults(): Promise<void> {
  if (values.short && values.long) {
    process.stderr.write("faults: --short or --long, not both\n");
    process.exit(64);
  }
  const result = await runFaultSuite({
    length: values.long ? "long" : "short",
    stateDir,
    keepBackingServices: values["keep-infra"],
  });
  process.stdout.write(`\n${result.table}\n\n`);
  for (const report of result.reports) {
    if (report.slowestFlow) process.stdout.write(`  ${report.name}: slowest flow ${report.slowestFlow}\n`);
    for (const line of [...report.notes, ...report.examples])
      process.stdout.write(`  ${report.name}: ${line}\n`);
  }
  for (const line of result.runNotes) process.stdout.write(`  run: ${line}\n`);
  process.stdout.write(`\nreport: ${result.reportFile}; service logs: ${stateDir}/<domain>/logs\n`);
  if (result.missed.length > 0) {
    process.stdout.write(`targets missed:\n${result.missed.map((line) => `  ${line}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("every target met: nothing lost, duplicated or undecryptable, recovery within 60 s\n");
  process.exit(0);
}

const command = positionals[0];
if (command === "up") await up();
else if (command === "down") await down();
else if (command === "faults") await faults();
else {
  process.stderr.write(
    "usage: split up [--domains ...] [--base-port N] [--state DIR] [--fresh] | split down [--state DIR] | split faults [--short|--long] [--state DIR] [--keep-infra]\n",
  );
  process.exit(64);
}
