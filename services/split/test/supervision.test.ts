import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { infraFromEnv } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceProcess, type SplitDeployment, startSplitDeployment } from "../src/deployment.js";
import type { RestartRecord } from "../src/supervision.js";

const { available: haveInfra, ...infra } = infraFromEnv();

/** One provider's five processes under supervision: crashes come back by themselves, stops do not. */
let deployment: SplitDeployment;
let stateDir: string;
const logged: RestartRecord[] = [];

function processOf(service: ServiceProcess["service"]): ServiceProcess {
  const found = deployment.providers.get("a.test")?.processes.find((p) => p.service === service);
  if (!found) throw new Error(`no ${service}`);
  return found;
}

async function readyz(port: number): Promise<number | "refused"> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return "refused";
  }
}

/** Polls the process's own /readyz until it answers 200; the test never restarts anything itself. */
async function untilReadyz(port: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readyz(port)) !== 200) {
    if (Date.now() > deadline) throw new Error(`port ${port} not ready within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

async function frontStatus(path: string): Promise<number> {
  const res = await fetch(`${deployment.providers.get("a.test")?.url}${path}`);
  await res.body?.cancel();
  return res.status;
}

describe.skipIf(!haveInfra)("supervision of a split provider", () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "mimi-split-supervision-"));
    deployment = await startSplitDeployment({
      domains: ["a.test"],
      infra,
      stateDir,
      prefix: "mimi_split_supervision",
      fresh: true,
      onRestart: (record) => logged.push(record),
    });
  }, 240_000);

  afterAll(async () => {
    await deployment?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it("starts a SIGKILLed service again by itself, and the front routes to it once it is ready", async () => {
    const fanout = processOf("delivery-fanout");
    const firstPid = fanout.child.pid;
    await deployment.kill(fanout);
    expect(await readyz(fanout.port)).toBe("refused");
    expect(await frontStatus("/api/v1/mailbox")).toBe(503);

    await untilReadyz(fanout.port);
    expect(fanout.child.pid).not.toBe(firstPid);
    expect(fanout.restarts).toBe(1);
    expect(logged).toEqual([
      expect.objectContaining({
        domain: "a.test",
        service: "delivery-fanout",
        exit: "signal SIGKILL",
        attempt: 1,
        delayMs: 500,
      }),
    ]);
    expect(readFileSync(join(stateDir, "supervisor.log"), "utf8")).toContain(
      "a.test delivery-fanout-0 exited (signal SIGKILL); restart attempt 1 in 500 ms",
    );
    await deployment.whenReady(fanout);
    // Unauthenticated: the service itself answers (401), not the front (502/503).
    expect(await frontStatus("/api/v1/mailbox")).toBe(401);
  }, 120_000);

  it("waits twice as long when the service fails again soon after its restart", async () => {
    const fanout = processOf("delivery-fanout");
    await deployment.kill(fanout);
    await untilReadyz(fanout.port);
    expect(logged.at(-1)).toEqual(
      expect.objectContaining({ service: "delivery-fanout", attempt: 2, delayMs: 1_000 }),
    );
  }, 120_000);

  it("keeps a killed service down for the time asked, then starts it again", async () => {
    const ingest = processOf("inbox-ingest");
    await deployment.kill(ingest, { downForMs: 4_000 });
    expect(ingest.status).toBe("down");
    await new Promise((done) => setTimeout(done, 2_000));
    expect(await readyz(ingest.port)).toBe("refused");
    await untilReadyz(ingest.port);
    expect(logged.at(-1)).toEqual(
      expect.objectContaining({ service: "inbox-ingest", exit: "signal SIGKILL", delayMs: 4_000 }),
    );
    await deployment.whenReady(ingest);
  }, 120_000);

  it("does not restart a service stopped on purpose until it is started", async () => {
    const directory = processOf("keypackage-directory");
    const restartsBefore = logged.length;
    await deployment.stopService(directory);
    // Three times the first backoff: a supervised crash would have been restarted by now.
    await new Promise((done) => setTimeout(done, 1_500));
    expect(directory.status).toBe("stopped");
    expect(await readyz(directory.port)).toBe("refused");
    expect(logged.length).toBe(restartsBefore);
    await deployment.startService(directory);
    expect(await readyz(directory.port)).toBe(200);
    expect(directory.restarts).toBe(0);
  }, 120_000);
});
