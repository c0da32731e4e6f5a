/**
 * `split up` starts a split deployment in the foreground (Ctrl-C or `split down` stops it);
 * `split down` stops the one running from the same state folder. Needs DATABASE_URL, REDIS_URL and
 * KAFKA_BROKERS (`eval "$(bash scripts/infra env)"`).
 *
 *   split up [--domains a.test,b.test,c.test] [--base-port 18080] [--state <dir>] [--fresh]
 *   split down [--state <dir>]
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { REPOSITORY_ROOT, startSplitDeployment } from "./deployment.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    domains: { type: "string", default: "a.test,b.test,c.test" },
    "base-port": { type: "string", default: "18080" },
    state: { type: "string", default: join(REPOSITORY_ROOT, ".split") },
    prefix: { type: "string", default: "mimi_split" },
    fresh: { type: "boolean", default: false },
  },
});
const stateDir = resolve(values.state);
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
    forger: true,
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

const command = positionals[0];
if (command === "up") await up();
else if (command === "down") await down();
else {
  process.stderr.write(
    "usage: split up [--domains ...] [--base-port N] [--state DIR] [--fresh] | split down [--state DIR]\n",
  );
  process.exit(64);
}
