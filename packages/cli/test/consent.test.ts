import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./testing-io.js";

/** `mimi account consent`, `invites`, `accept`, `decline` against a standalone provider. */
let provider: RunningProvider;
let dir: string;

async function run(user: string, ...args: string[]) {
  const io = memoryIo({ MIMI_HOME: join(dir, user) });
  const code = await main(args, io);
  return { code, lines: io.lines, errors: io.errors };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-consent-"));
  provider = await startProvider({
    env: { MIMI_DOMAIN: "localhost", PORT: "0", MIMI_DATA_DIR: join(dir, "data"), LOG_LEVEL: "silent" },
    host: "127.0.0.1",
  });
  const server = `http://127.0.0.1:${provider.port}`;
  for (const user of ["kim", "lee", "max"]) {
    expect((await run(user, "account", "create", user, "--server", server)).code).toBe(0);
  }
});
afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("consent for adds by strangers", () => {
  it("is off by default, and on makes a stranger's add wait for acceptance", async () => {
    expect((await run("kim", "account", "consent")).lines[0]).toMatch(/^consent is off/);
    expect((await run("kim", "account", "consent", "on")).lines[0]).toMatch(/^consent is on/);
    expect((await run("kim", "account", "consent", "maybe")).code).toBe(2);

    expect((await run("lee", "channel", "create", "tea")).code).toBe(0);
    const waiting = await run("lee", "channel", "add", "tea", "kim@localhost");
    expect(waiting.code).toBe(1);
    expect(waiting.errors.join("\n")).toMatch(
      /kim@localhost accepts adds only from contacts and has been asked: the add to tea waits for their consent/,
    );
    // Still waiting: the next join tries again and keeps it.
    const first = await run("lee", "join");
    expect(first.code).toBe(0);
    expect((await run("lee", "members", "tea")).lines.join("\n")).not.toContain("kim@localhost");

    const invites = await run("kim", "invites");
    expect(invites.lines).toEqual([
      expect.stringMatching(/^lee@localhost:?\d* {2}asked .+ {2}http:\/\/localhost:\d+\/users\/lee$/),
    ]);
    expect((await run("kim", "accept", "lee@localhost")).lines[0]).toMatch(/^accepted lee@localhost/);
    expect((await run("kim", "invites")).lines).toEqual(["no invites"]);

    // lee's next join makes the waiting add; the one after applies the channel's answer.
    const retried = await run("lee", "join");
    expect(retried.lines.join("\n") + retried.errors.join("\n")).toMatch(
      /kim@localhost accepted: their add was submitted/,
    );
    for (let i = 0; i < 20; i += 1) {
      if ((await run("lee", "members", "tea")).lines.join("\n").includes("kim@localhost")) break;
      await run("lee", "join");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await run("lee", "members", "tea")).lines.join("\n")).toContain("kim@localhost");
    expect((await run("kim", "join")).lines.join("\n")).toMatch(/tea/);
  }, 60_000);

  it("declines an invite", async () => {
    expect((await run("max", "channel", "create", "cake")).code).toBe(0);
    expect((await run("max", "channel", "add", "cake", "kim@localhost")).code).toBe(1);
    expect((await run("kim", "decline", "max@localhost")).lines).toEqual(["declined max@localhost"]);
    expect((await run("kim", "invites")).lines).toEqual(["no invites"]);
    const none = await run("kim", "accept", "max@localhost");
    expect(none.code).toBe(1);
    expect(none.errors[0]).toMatch(/no invite from max@localhost/);
  }, 60_000);
});
