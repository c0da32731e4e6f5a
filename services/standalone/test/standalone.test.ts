import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@mimi/service-kit";
import { afterAll, describe, expect, it } from "vitest";
import { startProvider } from "../src/provider.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mimi-standalone-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** a.test on any free port, in a folder of its own. */
function startA() {
  return startProvider({
    env: {
      MIMI_DOMAIN: "a.test",
      MIMI_PUBLIC_URL: "http://a.test",
      PORT: "0",
      MIMI_DATA_DIR: tempDir(),
      LOG_LEVEL: "silent",
    },
    host: "127.0.0.1",
  });
}

describe("standalone provider", () => {
  it("serves every mounted service plus health on one port", async () => {
    const provider = await startA();
    try {
      const base = `http://127.0.0.1:${provider.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const config = (await (await fetch(`${base}/.well-known/mimi-configuration`)).json()) as {
        domain: string;
      };
      expect(config.domain).toBe("a.test");
    } finally {
      await provider.close();
    }
  });

  it("reports a crashed bus consumer: not ready while it restarts", async () => {
    const provider = await startA();
    try {
      const base = `http://127.0.0.1:${provider.port}`;
      // A handler answering something that is not an outcome crashes its consumer.
      const subscription = await provider.bus.subscribe({
        groupId: "crashing-test-group",
        topics: ["crash.test"],
        handle: async () => 42 as unknown as { kind: "ok" },
      });
      await provider.bus.publish("crash.test", [{ key: "k", value: new Uint8Array([1]) }]);
      let readiness = 200;
      for (let i = 0; i < 50 && readiness === 200; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        readiness = (await fetch(`${base}/readyz`)).status;
      }
      expect(readiness).toBe(503);
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(JSON.stringify(await health.json())).toContain("crashing-test-group");
      await subscription.stop();
    } finally {
      await provider.close();
    }
  });

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ MIMI_DOMAIN: "Upper.Case" }, "MIMI_DOMAIN"],
    [{ MIMI_ENV: "staging" }, "MIMI_ENV"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ MIMI_KEY_ENCRYPTION_KEY: "dG9vIHNob3J0" }, "MIMI_KEY_ENCRYPTION_KEY"],
    [{ MIMI_DEV_CONNECT_TO: "a.test" }, "MIMI_DEV_CONNECT_TO"],
    [{ MIMI_ENV: "production", MIMI_PUBLIC_URL: "https://a.test" }, "MIMI_KEY_ENCRYPTION_KEY"],
    [
      { MIMI_ENV: "production", MIMI_KEY_ENCRYPTION_KEY: Buffer.alloc(32).toString("base64") },
      "MIMI_PUBLIC_URL",
    ],
    [
      {
        MIMI_ENV: "production",
        MIMI_PUBLIC_URL: "https://a.test",
        MIMI_KEY_ENCRYPTION_KEY: Buffer.alloc(32).toString("base64"),
        MIMI_DEV_CONNECT_TO: "b.test=127.0.0.1:8082",
      },
      "MIMI_DEV_CONNECT_TO",
    ],
  ])("refuses to boot with %o, naming %s", async (env, variable) => {
    const error = await startProvider({
      env: { MIMI_DATA_DIR: tempDir(), LOG_LEVEL: "silent", ...env },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });
});
