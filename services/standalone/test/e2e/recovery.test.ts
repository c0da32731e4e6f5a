import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientEvent } from "@mimi/client";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federation, startFederation } from "../support/federation.js";

/**
 * A provider briefly down must not cut members of other providers off: alice@a.test adds
 * mallory@c.test to a channel bob@b.test is in while c.test cannot be reached by bob's client, so
 * bob cannot check mallory's credential when the commit arrives. The commit is not passed over: bob
 * is told his channel is out of sync, the messages after it wait, and once c.test is back bob applies
 * the commit and reads everything. Runs three standalone providers in this process, because it takes
 * one of them down and brings it back.
 */
const DOMAINS = ["a.test", "b.test", "c.test"];
let federation: Federation;
let homes: string;
const clients = new TestClients(() => ({
  server: (domain) => federation.get(domain).local,
  home: (name) => join(homes, name),
  connectTo: federation.connectTo,
}));
const signUp = (user: string, domain: string) => clients.signUp(user, domain);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);
/** Another run of `user`'s client on the same MIMI_HOME (a new `mimi` process). */
const restart = (user: string) => clients.restart(user);

async function texts(user: string, url: string): Promise<string[]> {
  return (await client(user).messages(url)).messages.map((m) => m.content);
}

const skippedReasons = (events: ClientEvent[]) =>
  events.flatMap((event) => (event.type === "skipped" ? [event.reason] : []));

beforeAll(async () => {
  homes = mkdtempSync(join(tmpdir(), "mimi-e2e-recovery-"));
  federation = await startFederation(DOMAINS);
  await signUp("alice", "a.test");
  await signUp("bob", "b.test");
  await signUp("mallory", "c.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await federation?.close();
  if (homes) rmSync(homes, { recursive: true, force: true });
});

describe("a commit processed while a peer provider is down", () => {
  it("leaves bob out of sync, visibly, and he catches up once the peer is back", async () => {
    const created = await client("alice").createChannel("outage");
    expect((await client("alice").waitForChannel(created.url, { timeoutMs: 30_000 })).settled).toBe(true);
    const url = created.url;
    await client("alice").addMember(url, "bob@b.test");
    expect((await client("alice").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil("bob", "joining", async () =>
      (await client("bob").channels()).some((c) => c.url === url),
    );

    // c.test is up while alice claims mallory's KeyPackages and the channel verifies the commit.
    await client("alice").addMember(url, "mallory@c.test");
    expect((await client("alice").waitForChannel(url, { timeoutMs: 30_000 })).settled).toBe(true);
    expect((await client("alice").channel(url)).epoch).toBe(2);

    const cTest = federation.get("c.test").front;
    await cTest.down();
    try {
      await client("alice").send(url, "during the outage");
      // Bob's client cannot fetch c.test's configuration to check mallory's credential.
      const stalled = await syncUntil("bob", "the Add to be tried", async () => {
        return (await client("bob").channel(url)).outOfSync !== undefined;
      });
      expect(skippedReasons(stalled).join("\n")).toMatch(/cannot apply the Add commit yet/);
      const behind = await client("bob").channel(url);
      expect(behind).toMatchObject({ status: "active", epoch: 1 });
      expect(behind.outOfSync?.reason).toMatch(/cannot apply the Add commit yet/);

      // Another sync while c.test is still down does not pass the commit over.
      await client("bob").sync();
      expect((await client("bob").channel(url)).epoch).toBe(1);
      expect(await texts("bob", url)).toEqual([]);
    } finally {
      await cTest.up();
    }

    await client("alice").send(url, "after the outage");
    // A new run of bob's client (a failed lookup is remembered for half a minute within one).
    await restart("bob");
    const recovered = await syncUntil("bob", "both messages", async () => {
      const got = await texts("bob", url);
      return got.includes("during the outage") && got.includes("after the outage");
    });
    expect(recovered.map((event) => event.type)).toContain("member-added");
    expect(skippedReasons(recovered)).toEqual([]);
    const caughtUp = await client("bob").channel(url);
    expect(caughtUp.epoch).toBe(2);
    expect(caughtUp.outOfSync).toBeUndefined();
    expect(await texts("bob", url)).toEqual(["during the outage", "after the outage"]);

    // Every member reads what is sent now, mallory included (her Welcome waited for c.test).
    await syncUntil("mallory", "joining", async () =>
      (await client("mallory").channels()).some((c) => c.url === url),
    );
    await client("bob").send(url, "bob is back");
    for (const user of ["alice", "mallory"])
      await syncUntil(user, "bob's message", async () => (await texts(user, url)).includes("bob is back"));
  }, 180_000);
});
