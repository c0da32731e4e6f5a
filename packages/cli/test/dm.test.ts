import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChannelSummary, isConversationReference, type StoredMessage } from "@mimi/client";
import { FakeNetwork, serveOverHttp } from "@mimi/client/testing";
import { afterAll, describe, expect, it } from "vitest";
import { channelLabel, eventLine, messageLine } from "../src/format.js";
import { main } from "../src/main.js";
import { HELP } from "../src/usage.js";
import { memoryIo } from "./testing-io.js";

const dir = mkdtempSync(join(tmpdir(), "mimi-cli-dm-"));
let servers: { url: string; close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `mimi` for one user and returns its exit code and output. */
async function mimi(env: Record<string, string>, ...argv: string[]) {
  const io = memoryIo(env);
  const code = await main(argv, io);
  return { code, lines: io.lines, errors: io.errors };
}

const group: ChannelSummary = {
  id: "c1",
  url: "http://a.test/channels/c1",
  name: "eqJsEElLULlQaugcQkD48Ioor8-yuae1qWvqPlNBlLk",
  status: "active",
  epoch: 2,
  waiting: false,
  dm: { participants: ["acct:alice@a.test", "acct:bob@b.test"] },
};

const message: StoredMessage = {
  id: "1a2b3c4d5e6f7a8b",
  activityId: "http://b.test/users/bob/activities/1",
  channelId: "c1",
  senderUri: "acct:bob@b.test",
  actor: "http://b.test/users/bob",
  timestamp: Date.UTC(2025, 0, 1, 12, 0),
  receivedAt: "2025-01-01T12:00:01.000Z",
  contentType: "text/plain",
  content: "hello alice",
  direction: "in",
  epoch: 2,
};

describe("group DMs in the CLI", () => {
  it("show a DM group by its participants, not by its conversation key", () => {
    expect(channelLabel(group).text).toBe("dm:alice@a.test,bob@b.test");
    expect(channelLabel({ name: "general" }).text).toBe("#general");
    expect(messageLine(group, message).text).toBe(
      "dm:alice@a.test,bob@b.test [2025-01-01 12:00] 1a2b3c4d bob@b.test: hello alice",
    );
    expect(eventLine({ type: "message", channel: group, message })?.text).toContain(
      "dm:alice@a.test,bob@b.test",
    );
  });

  it("read a conversation for an argument that starts with @ or acct:", () => {
    expect(isConversationReference("@bob@b.test")).toBe(true);
    expect(isConversationReference("@bob@b.test,carol@c.test")).toBe(true);
    expect(isConversationReference("acct:bob@b.test")).toBe(true);
    expect(isConversationReference("general")).toBe(false);
    // A channel may be called like a handle without being one.
    expect(isConversationReference("@team")).toBe(false);
    expect(isConversationReference("@bob@b.test,team")).toBe(false);
    expect(isConversationReference("http://a.test/channels/c1")).toBe(false);
  });

  it("are in the help, and a dm without participants or text is a usage mistake", async () => {
    expect(HELP.text).toContain("mimi dm <user@domain>");
    expect(HELP.text).toContain("mimi dms");
    expect(HELP.text).toContain("mimi read @<user@domain>");
    for (const argv of [["dm"], ["dm", "hello"], ["dms", "extra"]]) {
      const io = memoryIo({ MIMI_HOME: join(dir, "nobody") });
      expect(await main(argv, io)).toBe(2);
      expect(io.errors.join("\n")).toMatch(/^mimi: usage: mimi dms?/);
    }
  });

  it("start a conversation with mimi dm, list it with mimi dms and show it with mimi read", async () => {
    const network = await FakeNetwork.create(["a.test", "b.test"]);
    servers = [await serveOverHttp(network, "a.test"), await serveOverHttp(network, "b.test")];
    const connectTo = `a.test=${new URL(servers[0]?.url ?? "").host},b.test=${new URL(servers[1]?.url ?? "").host}`;
    const env = (user: string) => ({ MIMI_HOME: join(dir, user), MIMI_DEV_CONNECT_TO: connectTo });
    const [alice, bob, carol] = [env("alice"), env("bob"), env("carol")];
    expect((await mimi(alice, "account", "create", "alice", "--server", servers[0]?.url ?? "")).code).toBe(0);
    expect((await mimi(bob, "account", "create", "bob", "--server", servers[1]?.url ?? "")).code).toBe(0);
    expect((await mimi(carol, "account", "create", "carol", "--server", servers[1]?.url ?? "")).code).toBe(0);

    const started = await mimi(alice, "dm", "bob@b.test", "carol@b.test", "lunch?");
    expect(started.lines).toEqual([
      expect.stringMatching(/^started and sent [0-9a-f]{8} to dm:alice@a\.test,bob@b\.test,carol@b\.test$/),
    ]);
    const read = await mimi(bob, "read", "@alice@a.test,carol@b.test");
    expect(read.lines).toEqual([
      expect.stringMatching(
        /^dm:alice@a\.test,bob@b\.test,carol@b\.test \[[\d-]+ [\d:]+\] [0-9a-f]{4,} alice@a\.test: lunch\?$/,
      ),
    ]);
    expect((await mimi(carol, "dm", "@alice@a.test,bob@b.test", "yes")).lines).toEqual([
      expect.stringMatching(/^sent [0-9a-f]{8} to dm:alice@a\.test,bob@b\.test,carol@b\.test$/),
    ]);
    expect((await mimi(alice, "dms")).lines).toEqual([
      expect.stringMatching(/^@bob@b\.test,@carol@b\.test \[[\d-]+ [\d:]+\] carol@b\.test: yes$/),
    ]);
    expect((await mimi(bob, "read", "@alice@a.test")).errors).toEqual([
      "mimi: no conversation with @alice@a.test yet",
    ]);

    // join and listen show a DM message like a channel's, under the conversation's label.
    await mimi(bob, "dm", "@alice@a.test,carol@b.test", "see you at noon");
    expect((await mimi(alice, "join")).lines).toContainEqual(
      expect.stringMatching(
        /^dm:alice@a\.test,bob@b\.test,carol@b\.test \[.+\] [0-9a-f]{4,} bob@b\.test: see you at noon$/,
      ),
    );
    const stop = new AbortController();
    const io = memoryIo(carol, "", stop.signal);
    await mimi(carol, "join");
    const listening = main(["listen"], io);
    await mimi(alice, "dm", "bob@b.test", "carol@b.test", "on my way");
    for (let i = 0; i < 100 && io.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await listening).toBe(0);
    expect(io.lines).toEqual([
      expect.stringMatching(
        /^dm:alice@a\.test,bob@b\.test,carol@b\.test \[.+\] [0-9a-f]{4,} alice@a\.test: on my way$/,
      ),
    ]);
  });
});
