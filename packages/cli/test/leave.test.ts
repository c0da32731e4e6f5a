import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeNetwork, serveOverHttp } from "@mimi/client/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { HELP } from "../src/usage.js";
import { memoryIo } from "./testing-io.js";

/** `mimi channel leave`: its usage and refusals (what leaving does is tested with real providers end to end). */
let dir: string;
let network: FakeNetwork;
let server: { url: string; close(): Promise<void> };
let env: Record<string, string>;

async function mimi(...argv: string[]) {
  const io = memoryIo(env);
  const code = await main(argv, io);
  return { code, lines: io.lines, errors: io.errors };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-leave-"));
  network = await FakeNetwork.create(["a.test"]);
  server = await serveOverHttp(network, "a.test");
  env = { MIMI_HOME: join(dir, "nora"), MIMI_DEV_CONNECT_TO: `a.test=${new URL(server.url).host}` };
  expect((await mimi("account", "create", "nora", "--server", server.url)).code).toBe(0);
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("mimi channel leave", () => {
  it("is listed in the help", () => {
    expect(HELP.text).toContain("mimi channel leave <channel>");
  });

  it("needs exactly one channel (usage: exit 2)", async () => {
    for (const argv of [
      ["channel", "leave"],
      ["channel", "leave", "a", "b"],
    ]) {
      const run = await mimi(...argv);
      expect(run.code).toBe(2);
      expect(run.errors.join("\n")).toContain("mimi channel leave <channel>");
    }
  });

  it("refuses a channel the account does not have (exit 1), submitting nothing", async () => {
    const before = network.requests.filter((request) => request.includes("/outbox")).length;
    const run = await mimi("channel", "leave", "nowhere");
    expect(run.code).toBe(1);
    expect(run.errors.join("\n")).toMatch(/no channel/);
    expect(network.requests.filter((request) => request.includes("/outbox")).length).toBe(before);
  });
});
