import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { UNHANDLED_ERROR_EXIT_CODE } from "@mimi/service-kit";
import { afterAll, describe, expect, it } from "vitest";

const repositoryRoot = fileURLToPath(new URL("../../..", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/probe-service.ts", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "mimi-run-service-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface LogLine {
  level: number;
  msg: string;
  port?: number;
  event?: string;
  err?: { message: string };
}

/** The probe service's process (PostgreSQL when DATABASE_URL is set, else PGlite). */
function spawnProbe(args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", fixture, ...args], {
    cwd: repositoryRoot,
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      MIMI_DATA_DIR: dataDir,
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts the probe service and waits for its port. */
async function startProbe(): Promise<{ child: ChildProcess; base: string; lines: LogLine[] }> {
  const child = spawnProbe();
  child.stderr?.pipe(process.stderr);
  const lines: LogLine[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`probe service exited with ${code} before listening`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
      if (!text.startsWith("{")) return;
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      if (line.msg === "listening" && line.port) resolve(line.port);
    });
  });
  return { child, base: `http://127.0.0.1:${port}`, lines };
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });

/** Runs the probe to its end; its exit code and what it wrote to stderr. */
async function runProbe(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnProbe(args, env);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  return { code: await exitOf(child), stderr };
}

describe("runService", () => {
  it("refuses a bad service setting before it starts, naming it; migrate does not read it", async () => {
    const refused = await runProbe([], { PROBE_LIMIT: "none" });
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain("PROBE_LIMIT");
    expect((await runProbe(["migrate"], { PROBE_LIMIT: "none" })).code).toBe(0);
  }, 180_000);

  it("on SIGTERM stops the workers, then releases what the service opened", async () => {
    const { child, lines } = await startProbe();
    expect(lines.map((line) => line.msg)).toContain("probe workers started");
    child.kill("SIGTERM");
    expect(await exitOf(child)).toBe(0);
    const order = lines
      .map((line) => line.msg)
      .filter((msg) => ["probe workers stopped", "probe released", "stopped"].includes(msg));
    expect(order).toEqual(["probe workers stopped", "probe released", "stopped"]);
  }, 180_000);

  it("serves the health the service's components report: /healthz fails once one failed", async () => {
    const { child, base } = await startProbe();
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      await fetch(`${base}/break`, { method: "POST" });
      const healthz = await fetch(`${base}/healthz`);
      expect(healthz.status).toBe(503);
      expect(await healthz.json()).toEqual({ status: "unhealthy", failures: { probe: "broken on purpose" } });
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      child.kill("SIGTERM");
      await exitOf(child);
    }
  }, 180_000);

  it("ends the process after an error nothing handled, with a fatal log line first", async () => {
    const { child, base, lines } = await startProbe();
    const exited = exitOf(child);
    await fetch(`${base}/throw-later`, { method: "POST" });
    expect(await exited).toBe(UNHANDLED_ERROR_EXIT_CODE);
    const fatal = lines.find((line) => line.level === 60);
    expect(fatal).toMatchObject({
      event: "uncaughtException",
      err: { message: "thrown outside any request" },
    });
  }, 180_000);
});
