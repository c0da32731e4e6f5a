import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./testing-io.js";

/** `mimi block`, `unblock`, `blocks` against a standalone provider, and what a block stops. */
let provider: RunningProvider;
let dir: string;
let server: string;
const home = (user: string) => ({ MIMI_HOME: join(dir, user) });

async function run(user: string, ...args: string[]) {
  const io = memoryIo(home(user));
  const code = await main(args, io);
  return { code, lines: io.lines, errors: io.errors };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-blocks-"));
  provider = await startProvider({
    env: { MIMI_DOMAIN: "localhost", PORT: "0", MIMI_DATA_DIR: join(dir, "data"), LOG_LEVEL: "silent" },
    host: "127.0.0.1",
  });
  server = `http://127.0.0.1:${provider.port}`;
  for (const user of ["ava", "ben"]) {
    expect((await run(user, "account", "create", user, "--server", server)).code).toBe(0);
  }
});
afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("mimi block", () => {
  it("blocks, lists and unblocks users and domains", async () => {
    expect((await run("ava", "blocks")).lines).toEqual(["nobody blocked"]);
    expect((await run("ava", "block", "ben@localhost")).lines).toEqual(["blocked ben@localhost"]);
    expect((await run("ava", "block", "ben@localhost")).lines).toEqual(["ben@localhost was blocked already"]);
    expect((await run("ava", "block", "spam.example")).lines).toEqual([
      "blocked spam.example and its subdomains",
    ]);
    expect((await run("ava", "blocks")).lines).toEqual(["ben@localhost  (user)", "spam.example  (domain)"]);
    expect((await run("ava", "unblock", "spam.example")).lines).toEqual(["unblocked spam.example"]);
    const again = await run("ava", "unblock", "spam.example");
    expect(again.code).toBe(1);
    expect(again.errors[0]).toMatch(/spam\.example is not blocked/);
    expect((await run("ava", "block")).code).toBe(2);
  });

  it("keeps a blocked user from adding the blocker to a channel, until the block is lifted", async () => {
    expect((await run("ben", "channel", "create", "den")).code).toBe(0);
    const refused = await run("ben", "channel", "add", "den", "ava@localhost");
    expect(refused.code).toBe(1);
    expect((await run("ben", "members", "den")).lines.join("\n")).not.toContain("ava@localhost");
    expect((await run("ava", "unblock", "ben@localhost")).code).toBe(0);
    // The block list is read at most every 10 s by the claim endpoint.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    const added = await run("ben", "channel", "add", "den", "ava@localhost");
    expect(added.errors).toEqual([]);
    expect(added.code).toBe(0);
  }, 60_000);
});
