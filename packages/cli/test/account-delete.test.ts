import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeNetwork, serveOverHttp } from "@mimi/client/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { HELP } from "../src/usage.js";
import { memoryIo } from "./testing-io.js";

/** `mimi account delete`: a wrong password deletes and leaves nothing (the rest is tested end to end). */
let dir: string;
let network: FakeNetwork;
let server: { url: string; close(): Promise<void> };
let env: Record<string, string>;

async function mimi(password: string, ...argv: string[]) {
  const io = memoryIo(env, password);
  const code = await main(argv, io);
  return { code, lines: io.lines, errors: io.errors };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-delete-"));
  network = await FakeNetwork.create(["a.test"]);
  server = await serveOverHttp(network, "a.test");
  env = { MIMI_HOME: join(dir, "rita"), MIMI_DEV_CONNECT_TO: `a.test=${new URL(server.url).host}` };
  expect((await mimi("rita's password", "account", "create", "rita", "--server", server.url)).code).toBe(0);
  expect((await mimi("rita's password", "channel", "create", "kept")).code).toBe(0);
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("mimi account delete", () => {
  it("is listed in the help", () => {
    expect(HELP.text).toContain("mimi account delete");
  });

  it("with a wrong password fails, leaves no channel and keeps the session", async () => {
    const outbox = () => network.requests.filter((request) => request.endsWith("/outbox")).length;
    const before = outbox();
    const run = await mimi("not the password", "account", "delete");
    expect(run.code).toBe(1);
    expect(outbox()).toBe(before);
    expect(network.requests.some((request) => request.includes("/api/v1/me/delete"))).toBe(false);
    const channels = await mimi("rita's password", "channels");
    expect(channels.code).toBe(0);
    expect(channels.lines.join("\n")).toMatch(/#kept {2}active/);
  });

  it("takes no arguments", async () => {
    expect((await mimi("rita's password", "account", "delete", "now")).code).toBe(2);
  });
});
