import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./testing-io.js";

let provider: RunningProvider;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-"));
  provider = await startProvider({
    env: { MIMI_DOMAIN: "localhost", PORT: "0", MIMI_DATA_DIR: join(dir, "data"), LOG_LEVEL: "silent" },
    host: "127.0.0.1",
  });
});
afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("mimi account / whoami", () => {
  it("creates an account, stores its token privately and shows it in whoami", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const env = { MIMI_HOME: join(dir, "home") };
    const io = memoryIo(env);
    expect(await main(["account", "create", "alice", "--server", server], io)).toBe(0);
    expect(io.lines[0]).toMatch(/^created alice@localhost \(http:\/\/localhost:\d+\/users\/alice\)$/);
    // The first device is registered with the account, so others can add alice right away.
    expect(io.lines[1]).toMatch(
      /^registered device "mimi on .+" \(client .+\), credential valid until \d{4}-\d\d-\d\d$/,
    );
    const accountFile = join(dir, "home", "accounts", "alice@localhost", "account.json");
    expect(statSync(accountFile).mode & 0o777).toBe(0o600);

    const who = memoryIo(env);
    expect(await main(["whoami"], who)).toBe(0);
    expect(who.lines[0]).toMatch(/^alice@localhost {2}http:\/\/localhost:\d+\/users\/alice$/);
  });

  it("reports a taken name in one line with the reason", async () => {
    const io = memoryIo({ MIMI_HOME: join(dir, "home2") });
    expect(
      await main(["account", "create", "alice", "--server", `http://127.0.0.1:${provider.port}`], io),
    ).toBe(1);
    expect(io.errors).toEqual(["mimi: the name alice is taken (409 Conflict)"]);
  });

  it("logs in with the password and refuses a wrong one", async () => {
    const server = `http://127.0.0.1:${provider.port}`;
    const ok = memoryIo({ MIMI_HOME: join(dir, "home3") });
    expect(await main(["account", "login", "alice", "--server", server], ok)).toBe(0);
    const bad = memoryIo({ MIMI_HOME: join(dir, "home4") }, "wrong password");
    expect(await main(["account", "login", "alice", "--server", server], bad)).toBe(1);
    expect(bad.errors[0]).toContain("invalid username or password");
  });

  it("explains usage mistakes and missing accounts", async () => {
    const io = memoryIo({ MIMI_HOME: join(dir, "empty") });
    expect(await main(["account", "create"], io)).toBe(2);
    expect(io.errors[0]).toMatch(/^mimi: usage: /);
    expect(await main(["whoami"], io)).toBe(1);
    expect(io.errors[1]).toContain("no account yet");
    expect(await main(["frobnicate"], io)).toBe(2);
    expect(await main(["account", "create", "bob", "--server", "http://127.0.0.1:1"], io)).toBe(1);
    expect(io.errors.at(-1)).toMatch(/cannot reach/);
  });
});
