import { statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MimiClient } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, channelWith, newAccount, texts } from "./helpers.js";

let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

const withDevice = (handle: string) => accountWithDevice(network, handle);

describe("device registration", () => {
  it("registers a client with a credential, uploads KeyPackages and tops them up", async () => {
    const alice = await newAccount(network, "reg@a.test");
    const result = await alice.client.addDevice("phone");
    expect(result).toMatchObject({
      name: "phone",
      keyPackages: { ok: true, uploaded: 4, available: 3, hasLastResort: true },
    });
    const server = network.user("reg@a.test");
    const pool = server?.keyPackages.get(result.clientId);
    expect(pool?.pool).toHaveLength(3);
    expect(pool?.lastResort).toBeDefined();
    const device = await alice.client.device();
    expect(device?.credentialChain).toHaveLength(2);
    expect(device?.keyPackages).toHaveLength(4);
    const file = join(alice.home, "accounts", "reg@a.test", "device.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Nothing to do while the pool is above the threshold; a drained pool is refilled.
    expect((await alice.client.replenishKeyPackages()).uploaded).toBe(0);
    pool?.pool.splice(0, 2);
    expect(await alice.client.replenishKeyPackages()).toMatchObject({ uploaded: 2, available: 3 });
    await expect(alice.client.addDevice("again")).rejects.toThrow(/already has a device here: phone/);
  });
});

describe("channels between two providers", () => {
  it("creates, adds across domains, joins and exchanges messages both ways", async () => {
    const alice = await withDevice("alice@a.test");
    const bob = await withDevice("bob@b.test");
    const created = await alice.client.createChannel("general");
    expect(created).toMatchObject({ name: "general", status: "pending", waiting: true });
    expect(created.url).toMatch(/^http:\/\/a\.test\/channels\/[A-Za-z0-9_-]{22}$/);
    const accepted = await alice.client.waitForChannel("general");
    expect(accepted.channel).toMatchObject({ status: "active", waiting: false, epoch: 0 });

    const submitted = await alice.client.addMember("general", "bob@b.test");
    expect(submitted.epoch).toBe(1);
    // Pending until the channel accepts: the local epoch has not moved yet.
    expect((await alice.client.channel("general")).epoch).toBe(0);
    const settled = await alice.client.waitForChannel("general");
    expect(settled.events).toContainEqual(
      expect.objectContaining({ type: "accepted", what: "add", epoch: 1 }),
    );

    const joined = await bob.client.sync();
    expect(joined.events).toContainEqual(
      expect.objectContaining({
        type: "joined",
        by: alice.actor,
        channel: expect.objectContaining({ name: "general", epoch: 1 }),
      }),
    );
    // The KeyPackage used to join is gone locally (3 pool + last resort were stored).
    expect((await bob.client.device())?.keyPackages).toHaveLength(3);

    await bob.client.send("general", "hi alice");
    const received = await alice.client.sync();
    const message = received.events.find((e) => e.type === "message");
    expect(message).toMatchObject({
      type: "message",
      message: { senderUri: "acct:bob@b.test", actor: bob.actor, content: "hi alice", direction: "in" },
    });
    await alice.client.send("general", "hello bob");
    await bob.client.sync();
    expect(texts((await bob.client.messages("general")).messages)).toEqual(["hi alice", "hello bob"]);
    expect(texts((await alice.client.messages("general")).messages)).toEqual(["hi alice", "hello bob"]);
    // The channel's Accept of alice's message reaches her stored copy.
    await alice.client.sync();
    const sent = (await alice.client.messages("general")).messages.find((m) => m.content === "hello bob");
    expect(sent?.status).toBe("accepted");

    const members = await alice.client.members("general");
    expect(members.members.map((m) => m.acct).sort()).toEqual(["acct:alice@a.test", "acct:bob@b.test"]);
    expect(members.members.find((m) => m.acct === "acct:bob@b.test")?.actor).toBe(bob.actor);
    expect(members.followers?.sort()).toEqual([alice.actor, bob.actor].sort());

    await alice.client.rename("general", "lobby");
    await bob.client.sync();
    expect((await bob.client.channels()).map((c) => c.name)).toEqual(["lobby"]);
  });

  it("loses a race for the epoch, catches up from the log and wins on the retry", async () => {
    const alice = await withDevice("alice2@a.test");
    const bob = await withDevice("bob2@b.test");
    const carol = await withDevice("carol2@b.test");
    const dave = await withDevice("dave2@a.test");
    const url = await channelWith("race", alice, bob);

    // Both commit on epoch 1; the channel takes the first and rejects the other.
    await Promise.all([alice.client.addMember(url, carol.handle), bob.client.addMember(url, dave.handle)]);
    const [aliceRound, bobRound] = await Promise.all([
      alice.client.waitForChannel(url),
      bob.client.waitForChannel(url),
    ]);
    expect(aliceRound.settled && bobRound.settled).toBe(true);
    const rejections = [...aliceRound.events, ...bobRound.events].filter((e) => e.type === "rejected");
    expect(rejections).toEqual([expect.objectContaining({ retried: true })]);
    await Promise.all([alice.client.sync(), bob.client.sync(), carol.client.sync(), dave.client.sync()]);
    for (const member of [alice, bob, carol, dave]) expect((await member.client.channel(url)).epoch).toBe(3);

    await carol.client.send(url, "hello everyone");
    for (const member of [alice, bob, dave]) {
      await member.client.sync();
      expect(texts((await member.client.messages(url)).messages)).toContain("hello everyone");
    }
  });

  it("reports the error after a second rejection", async () => {
    const alice = await withDevice("alice3@a.test");
    const bob = await withDevice("bob3@b.test");
    const url = await channelWith("strict", alice);
    network.rejectCommitsFor.add(url);
    await alice.client.addMember(url, bob.handle);
    const round = await alice.client.waitForChannel(url);
    expect(round.settled).toBe(true);
    expect(round.events.filter((e) => e.type === "rejected")).toEqual([
      expect.objectContaining({ retried: true, reason: "refused by a test" }),
      expect.objectContaining({ retried: false, reason: "refused by a test" }),
    ]);
    expect(await alice.client.channel(url)).toMatchObject({ epoch: 0, waiting: false });
  });

  it("stops decrypting for a removed member, and state survives a reload from disk", async () => {
    const alice = await withDevice("alice4@a.test");
    const bob = await withDevice("bob4@b.test");
    const carol = await withDevice("carol4@a.test");
    const url = await channelWith("team", alice, bob, carol);
    await bob.client.sync();

    await alice.client.removeMember("team", "bob4@b.test");
    await alice.client.waitForChannel("team");
    const removed = await bob.client.sync();
    expect(removed.events).toContainEqual(expect.objectContaining({ type: "left", by: alice.actor }));
    expect((await bob.client.channel(url)).status).toBe("left");

    await alice.client.send("team", "bob is gone");
    expect((await bob.client.sync()).events.filter((e) => e.type === "message")).toEqual([]);
    await expect(bob.client.send(url, "still here?")).rejects.toThrow(/no longer a member/);

    // A fresh SDK instance on the same MIMI_HOME picks up where the old one stopped.
    const reloaded = new MimiClient({ home: carol.home, fetch: network.fetch });
    await reloaded.sync();
    expect(texts((await reloaded.messages("team")).messages)).toEqual(["bob is gone"]);
    await reloaded.send("team", "carol after reload");
    await alice.client.sync();
    expect(texts((await alice.client.messages("team")).messages)).toEqual([
      "bob is gone",
      "carol after reload",
    ]);
    const members = await alice.client.members("team");
    expect(members.members.map((m) => m.acct).sort()).toEqual(["acct:alice4@a.test", "acct:carol4@a.test"]);
  });

  it("listens live over the event stream", async () => {
    const alice = await withDevice("alice5@a.test");
    const bob = await withDevice("bob5@b.test");
    const url = await channelWith("live", alice, bob);
    const abort = new AbortController();
    const received: string[] = [];
    let resolveFirst: () => void = () => undefined;
    const first = new Promise<void>((resolve) => {
      resolveFirst = resolve;
    });
    const listening = bob.client.listen(
      (event) => {
        if (event.type === "message") {
          received.push(event.message.content);
          resolveFirst();
        }
      },
      { signal: abort.signal, reconnectMs: 50 },
    );
    await alice.client.send(url, "live message");
    await first;
    abort.abort();
    await listening;
    expect(received).toEqual(["live message"]);
  });

  it("explains mistakes in one line", async () => {
    const alice = await withDevice("alice6@a.test");
    await expect(alice.client.addMember("nowhere", "bob@b.test")).rejects.toThrow(
      "no channel named nowhere (see mimi channels)",
    );
    const url = await channelWith("solo", alice);
    await expect(alice.client.addMember(url, "not an account")).rejects.toThrow(/is not an account/);
    await expect(alice.client.addMember(url, "nobody@b.test")).rejects.toThrow(/unknown user/);
    await expect(alice.client.removeMember(url, "nobody@b.test")).rejects.toThrow(
      "nobody@b.test is not a member of solo",
    );
    await expect(alice.client.createChannel("")).rejects.toThrow(/1 to 100 characters/);
  });
});
