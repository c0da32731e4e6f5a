import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPOSITORY_ROOT, type SplitDeployment, startSplitDeployment } from "../src/deployment.js";

const infra = {
  databaseUrl: process.env.DATABASE_URL ?? "",
  redisUrl: process.env.REDIS_URL ?? "",
  kafkaBrokers: process.env.KAFKA_BROKERS ?? "",
};
const haveInfra = infra.databaseUrl !== "" && infra.redisUrl !== "" && infra.kafkaBrokers !== "";

/** Fast delivery retries, as the in-process federation tests use, so redelivery shows within seconds. */
const FAST_DELIVERY_ENV = {
  MIMI_DELIVERY_RETRY_BASE_MS: "200",
  MIMI_DELIVERY_RETRY_MAX_DELAY_MS: "1000",
  MIMI_DELIVERY_SCHEDULER_POLL_MS: "100",
  MIMI_DELIVERY_BREAKER_COOLDOWN_MS: "500",
  MIMI_MAILBOX_SAFETY_POLL_MS: "500",
  LOG_LEVEL: "info",
};

let deployment: SplitDeployment | undefined;
let stateDir: string;

describe.skipIf(!haveInfra)(
  "the end-to-end suite on a split deployment (15 processes, Kafka, PostgreSQL, Redis)",
  () => {
    beforeAll(async () => {
      stateDir = mkdtempSync(join(tmpdir(), "mimi-split-e2e-"));
      deployment = await startSplitDeployment({
        domains: ["a.test", "b.test", "c.test"],
        infra,
        stateDir,
        // One fixed prefix, started fresh: reruns reuse (and first empty) the same databases and topics.
        prefix: "mimi_split_e2e",
        fresh: true,
        forger: true,
        env: FAST_DELIVERY_ENV,
      });
    }, 240_000);

    afterAll(async () => {
      await deployment?.stop();
      // Logs stay for a failed run; a green run leaves nothing behind.
      if (process.exitCode === undefined || process.exitCode === 0)
        rmSync(stateDir, { recursive: true, force: true });
    }, 60_000);

    it("runs services/standalone/test/e2e green against it", async () => {
      if (!deployment) throw new Error("no deployment");
      const description = JSON.stringify(deployment.describeForE2e());
      const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
        const child = spawn("npx", ["vitest", "run", "test/e2e"], {
          cwd: join(REPOSITORY_ROOT, "services", "standalone"),
          env: { ...process.env, MIMI_E2E_DEPLOYMENT: description, NO_COLOR: "1", FORCE_COLOR: "0" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (chunk) => {
          output += chunk;
        });
        child.stderr.on("data", (chunk) => {
          output += chunk;
        });
        child.on("exit", (exitCode) => done({ code: exitCode, output }));
      });
      if (code !== 0) process.stderr.write(`${output}\nservice logs: ${stateDir}\n`);
      expect(code).toBe(0);
      // Every test ran: none was skipped for lack of a forger or POST counts.
      const summary = /Tests\s+(\d+) passed \((\d+)\)/.exec(stripVTControlCharacters(output));
      expect(summary).not.toBeNull();
      expect(summary?.[1]).toBe(summary?.[2]);
    }, 300_000);
  },
);
