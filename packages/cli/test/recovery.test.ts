import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeNetwork, serveOverHttp } from "@mimi/client/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./testing-io.js";

/**
 * What a user sees when a provider is briefly down while their client processes a commit: the skipped
 * commit and why, the channel marked out of sync in `join`, `channels`, `read` and `send`, and then the
 * catch-up once the provider is back.
 */
let dir: string;
let network: FakeNetwork;
const servers = new Map<string, { url: string; close(): Promise<void> }>();

/** The MIMI_DEV_CONNECT_TO of the servers running now (c.test's address changes when it comes back). */
const connectTo = () =>
  [...servers].map(([domain, server]) => `${domain}=${new URL(server.url).host}`).join(",");
const env = (user: string) => ({ MIMI_HOME: join(dir, user), MIMI_DEV_CONNECT_TO: connectTo() });

async function mimi(user: string, ...argv: string[]) {
  const io = memoryIo(env(user));
  const code = await main(argv, io);
  return { code, lines: io.lines, errors: io.errors };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mimi-cli-recovery-"));
  network = await FakeNetwork.create(["a.test", "b.test", "c.test"]);
  for (const domain of ["a.test", "b.test", "c.test"])
    servers.set(domain, await serveOverHttp(network, domain));
  for (const [user, domain] of [
    ["alice", "a.test"],
    ["bob", "b.test"],
    ["mallory", "c.test"],
  ] as const)
    expect((await mimi(user, "account", "create", user, "--server", `http://${domain}`)).code).toBe(0);
});

afterAll(async () => {
  for (const server of servers.values()) await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a provider down while a commit is processed", () => {
  it("is shown, not hidden, and the channel catches up once it is back", async () => {
    expect((await mimi("alice", "channel", "create", "ops")).code).toBe(0);
    expect((await mimi("alice", "channel", "add", "ops", "bob@b.test")).code).toBe(0);
    expect((await mimi("bob", "join")).lines).toEqual([expect.stringMatching(/^joined #ops /)]);
    expect((await mimi("alice", "channel", "add", "ops", "mallory@c.test")).lines).toEqual([
      "added mallory@c.test to #ops (epoch 2)",
    ]);
    expect((await mimi("alice", "send", "ops", "during")).code).toBe(0);

    await servers.get("c.test")?.close();
    servers.delete("c.test");
    const stalled = await mimi("bob", "join");
    expect(stalled.lines).toEqual([
      expect.stringMatching(
        /^! #ops: skipped http:\/\/a\.test\/users\/alice\/activities\/\S+: cannot apply the Add commit yet \(rejected: .*\); it will be tried again$/,
      ),
      expect.stringMatching(
        /^! #ops is out of sync since [\d :-]+: cannot apply the Add commit yet .* \(tried again on every sync\)$/,
      ),
    ]);
    expect((await mimi("bob", "channels")).lines).toEqual([
      expect.stringMatching(
        /^#ops {2}active, OUT OF SYNC since [\d :-]+ \(cannot apply the Add commit yet .*\) {2}epoch 1 {2}http:\/\/a\.test\/channels\//,
      ),
    ]);
    const read = await mimi("bob", "read", "ops");
    expect(read.lines).toEqual(["no messages in #ops yet"]);
    expect(read.errors.at(-1)).toMatch(/^! #ops is out of sync since /);
    const sent = await mimi("bob", "send", "ops", "anyone?");
    expect(sent.errors[0]).toBe("mimi: warning: sent on epoch 1; members who joined since cannot read it");

    servers.set("c.test", await serveOverHttp(network, "c.test"));
    const recovered = await mimi("bob", "join");
    expect(recovered.lines).toEqual([
      "#ops: mallory@c.test joined (added by http://a.test/users/alice)",
      expect.stringMatching(/^#ops \[[\d :-]+\] [0-9a-f]{8} alice@a\.test: during$/),
    ]);
    expect((await mimi("bob", "channels")).lines).toEqual([
      expect.stringMatching(/^#ops {2}active {2}epoch 2 {2}/),
    ]);
    expect((await mimi("bob", "join")).lines).toEqual(["nothing new"]);
  });
});
