import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FAST_DELIVERY_ENV, infraFromEnv } from "@mimi/testkit";
import { TestClients } from "@mimi/testkit/e2e";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceProcess, type SplitDeployment, startSplitDeployment } from "../src/deployment.js";
import type { ServiceName } from "../src/routes.js";

const { available: haveInfra, ...infra } = infraFromEnv();
// About three minutes (a killed member's partitions move after the 30 s session timeout): opt in.
const enabled = haveInfra && process.env.MIMI_SPLIT_RESTARTS === "1";

/**
 * Two replicas of channel-sequencer and delivery-fanout per provider (consumer groups split the
 * partitions); replicas are SIGKILLed while messages and commits are in flight, come back by
 * themselves (supervision), and further replicas are started.
 * Nothing is lost, nothing reaches a mailbox twice, and no epoch gets two commits.
 */
let deployment: SplitDeployment;
let stateDir: string;
const clients = new TestClients(() => ({
  server: (domain) => deployment.providers.get(domain)?.url ?? "",
  home: (name) => join(stateDir, "homes", name),
  connectTo: deployment.connectTo,
}));
const signUp = (user: string, domain: string) => clients.signUp(user, domain);

function replica(domain: string, service: ServiceName) {
  const found = deployment.providers
    .get(domain)
    ?.processes.find(
      (p) => p.service === service && p.child.exitCode === null && p.child.signalCode === null,
    );
  if (!found) throw new Error(`no running ${service} on ${domain}`);
  return found;
}

async function until(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe.skipIf(!enabled)("replicas and restarts on a split deployment", () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "mimi-split-replicas-"));
    deployment = await startSplitDeployment({
      domains: ["a.test", "b.test"],
      infra,
      stateDir,
      prefix: "mimi_split_replicas",
      fresh: true,
      replicas: { "channel-sequencer": 2, "delivery-fanout": 2 },
      env: { ...FAST_DELIVERY_ENV, LOG_LEVEL: "info" },
    });
  }, 240_000);

  afterAll(async () => {
    await clients.closeAll();
    await deployment?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it("loses nothing, duplicates nothing and accepts one commit per epoch while replicas are killed and restarted", async () => {
    const alice = await signUp("alice", "a.test");
    const bob = await signUp("bob", "b.test");
    await signUp("dave", "b.test");
    await signUp("frank", "a.test");
    const channel = await alice.createChannel("replicated");
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 60_000 })).settled).toBe(true);
    await alice.addMember(channel.url, "bob@b.test");
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 60_000 })).settled).toBe(true);
    await until("bob joins", async () => {
      await bob.sync();
      return (await bob.channels()).some((c) => c.url === channel.url);
    });

    // delivery-fanout: b.test's first replica dies with deliveries in flight; supervision starts it
    // again by itself, and a further replica is added on each side.
    const texts = Array.from({ length: 12 }, (_, i) => `message ${i}`);
    const killed: ServiceProcess[] = [];
    for (const [i, text] of texts.entries()) {
      if (i === 3) killed.push(replica("b.test", "delivery-fanout"));
      if (i === 6) killed.push(replica("a.test", "delivery-fanout"));
      if (i === 3 || i === 6) await deployment.kill(killed.at(-1) as ServiceProcess);
      if (i === 9) {
        await deployment.addReplica("b.test", "delivery-fanout");
        await deployment.addReplica("a.test", "delivery-fanout");
      }
      await alice.send(channel.url, text);
    }
    await until("every message at bob", async () => {
      await bob.sync();
      const seen = (await bob.messages(channel.url)).messages.map((m) => m.content);
      return texts.every((text) => seen.includes(text));
    });
    for (const proc of killed) {
      await deployment.whenReady(proc);
      expect(proc.restarts).toBe(1);
    }

    // channel-sequencer: a.test's first replica dies right after a commit was submitted.
    await alice.addMember(channel.url, "dave@b.test");
    const sequencer = replica("a.test", "channel-sequencer");
    await deployment.kill(sequencer);
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 120_000 })).settled).toBe(true);
    await deployment.addReplica("a.test", "channel-sequencer");
    await deployment.whenReady(sequencer);
    expect(sequencer.restarts).toBe(1);
    await alice.addMember(channel.url, "frank@a.test");
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 120_000 })).settled).toBe(true);
    await until("bob sees both adds", async () => {
      await bob.sync();
      return (await bob.channel(channel.url)).epoch === 3;
    });

    // Exactly once in every mailbox.
    for (const user of ["alice", "bob"]) {
      const items = await clients.get(user)?.inbox({ after: 0, limit: 500 });
      const counts = new Map<string, number>();
      for (const item of items ?? []) counts.set(item.activityId, (counts.get(item.activityId) ?? 0) + 1);
      expect(
        [...counts].filter(([, count]) => count > 1),
        `${user}'s mailbox duplicates`,
      ).toEqual([]);
    }
    const bobItems = (await bob.inbox({ after: 0, limit: 500 })).filter(
      (item) => item.activity.type === "Create" && item.activity.actor === "http://a.test/users/alice",
    );
    // The channel creation is not forwarded to bob; each of the twelve messages is, once.
    expect(bobItems.length).toBe(texts.length);

    // One commit per epoch in the channel log.
    const db = new pg.Client({ connectionString: deployment.providers.get("a.test")?.databaseUrl });
    await db.connect();
    try {
      const commits = await db.query<{ epoch: string; commits: string }>(
        `select epoch, count(*) as commits from channels.log
          where activity->>'type' in ('Add', 'Remove') group by epoch order by epoch`,
      );
      expect(commits.rows.map((row) => [Number(row.epoch), Number(row.commits)])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
      ]);
    } finally {
      await db.end();
    }
  }, 600_000);
});
