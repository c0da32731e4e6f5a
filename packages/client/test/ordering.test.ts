import { beforeAll, describe, expect, it } from "vitest";
import { type ClientEvent, MimiClient } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, channelWith, texts } from "./helpers.js";

/**
 * A channel's entries are applied in the order the channel numbered them, whatever the mailbox does:
 * a lost forward is fetched from the channel's log, reordered ones wait for their turn, and a commit
 * that cannot be applied for now is tried again instead of being passed over.
 */
let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test", "c.test"]);
});

const withDevice = (handle: string) => accountWithDevice(network, handle);

const problems = (events: ClientEvent[]) =>
  events.flatMap((event) => (event.type === "skipped" ? [event.reason] : []));
const logReads = () => network.requests.filter((request) => request.endsWith("/api/v1/channels/log")).length;

function messageText(activityId: string, sent: Map<string, string>) {
  return sent.get(activityId);
}

describe("a channel's entries", () => {
  it("lost on the way are fetched from the log, and everything decrypts in order", async () => {
    const alice = await withDevice("alice@a.test");
    const bob = await withDevice("bob@b.test");
    const url = await channelWith("lossy", alice, bob);
    let forwards = 0;
    network.deliveryFate = (recipient, activity) => {
      if (recipient !== bob.actor || activity.type !== "Create") return "deliver";
      forwards += 1;
      return forwards % 3 === 2 ? "drop" : "deliver";
    };
    try {
      for (let i = 1; i <= 9; i += 1) await alice.client.send(url, `message ${i}`);
    } finally {
      network.deliveryFate = () => "deliver";
    }
    const round = await bob.client.sync();
    expect(problems(round.events)).toEqual([]);
    expect(texts((await bob.client.messages(url)).messages)).toEqual(
      Array.from({ length: 9 }, (_, i) => `message ${i + 1}`),
    );
  });

  it("delivered out of order wait for their turn (no log read needed)", async () => {
    const alice = await withDevice("alice2@a.test");
    const bob = await withDevice("bob2@b.test");
    const url = await channelWith("shuffled", alice, bob);
    network.deliveryFate = (recipient, activity) =>
      recipient === bob.actor && activity.type === "Create" ? "hold" : "deliver";
    const sent = new Map<string, string>();
    try {
      for (let i = 1; i <= 6; i += 1) {
        const message = await alice.client.send(url, `number ${i}`);
        sent.set(message.activityId, message.content);
      }
    } finally {
      network.deliveryFate = () => "deliver";
    }
    // Reversed: 6, 5, ..., 1.
    network.releaseHeld((held) => [...held].reverse());
    const readsBefore = logReads();
    const round = await bob.client.sync();
    expect(problems(round.events)).toEqual([]);
    const shown = round.events.flatMap((event) =>
      event.type === "message" ? [messageText(event.message.activityId, sent)] : [],
    );
    expect(shown).toEqual(Array.from({ length: 6 }, (_, i) => `number ${i + 1}`));
    expect(logReads()).toBe(readsBefore);
  });

  it("live, a gap is filled from the log at once", async () => {
    const alice = await withDevice("alice3@a.test");
    const bob = await withDevice("bob3@b.test");
    const url = await channelWith("live gap", alice, bob);
    const abort = new AbortController();
    const received: string[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const listening = bob.client.listen(
      (event) => {
        if (event.type !== "message") return;
        received.push(event.message.content);
        if (received.length === 3) done();
      },
      { signal: abort.signal, reconnectMs: 50 },
    );
    network.deliveryFate = (recipient, activity) =>
      recipient === bob.actor && activity.type === "Create" && received.length === 0 ? "drop" : "deliver";
    try {
      await alice.client.send(url, "first (lost)");
      network.deliveryFate = () => "deliver";
      await alice.client.send(url, "second");
      await alice.client.send(url, "third");
      await all;
    } finally {
      network.deliveryFate = () => "deliver";
      abort.abort();
      await listening;
    }
    expect(received).toEqual(["first (lost)", "second", "third"]);
  });
});

describe("a commit that cannot be applied for now", () => {
  it("is tried again rather than passed over: a provider briefly down does not cut a member off", async () => {
    const alice = await withDevice("alice4@a.test");
    const bob = await withDevice("bob4@b.test");
    const mallory = await withDevice("mallory4@c.test");
    const url = await channelWith("outage", alice, bob);
    await alice.client.addMember(url, mallory.handle);
    expect((await alice.client.waitForChannel(url)).settled).toBe(true);
    await alice.client.send(url, "after the add");

    // c.test is unreachable while bob processes the Add: mallory's credential cannot be checked.
    network.down.add("c.test");
    try {
      const stalled = await bob.client.sync();
      // Reported once per sync, naming the channel, although the message after it also waits.
      expect(problems(stalled.events)).toHaveLength(1);
      expect(problems(stalled.events)[0]).toMatch(/cannot apply the Add commit yet/);
      const skipped = stalled.events.find((event) => event.type === "skipped");
      expect(skipped?.type === "skipped" ? skipped.channel?.url : undefined).toBe(url);
      const behind = await bob.client.channel(url);
      expect(behind).toMatchObject({ status: "active", epoch: 1 });
      expect(behind.outOfSync?.reason).toMatch(/cannot apply the Add commit yet/);
      // A second sync while still down does not pass the commit over either, and says so again.
      const again = await bob.client.sync();
      expect(problems(again.events)).toHaveLength(1);
      expect(texts((await bob.client.messages(url)).messages)).toEqual([]);
      expect((await bob.client.channel(url)).outOfSync?.since).toBe(behind.outOfSync?.since);
    } finally {
      network.down.delete("c.test");
    }
    // The next run (a new process: a failed lookup is remembered for a while within one) applies it.
    const later = new MimiClient({ home: bob.home, fetch: network.fetch });
    const recovered = await later.sync();
    expect(problems(recovered.events)).toEqual([]);
    const caughtUp = await later.channel(url);
    expect(caughtUp).toMatchObject({ epoch: 2 });
    expect(caughtUp.outOfSync).toBeUndefined();
    expect(texts((await later.messages(url)).messages)).toEqual(["after the add"]);
  });

  it("is tried again on the next sync even when nothing else arrives for the channel", async () => {
    const alice = await withDevice("alice7@a.test");
    const bob = await withDevice("bob7@b.test");
    const mallory = await withDevice("mallory7@c.test");
    const url = await channelWith("quiet-outage", alice, bob);
    await alice.client.addMember(url, mallory.handle);
    expect((await alice.client.waitForChannel(url)).settled).toBe(true);

    network.down.add("c.test");
    try {
      expect(problems((await bob.client.sync()).events)).toHaveLength(1);
      // Nothing new in the mailbox: the commit that did not apply is still tried (from the log).
      const logReadsBefore = logReads();
      expect(problems((await bob.client.sync()).events)).toHaveLength(1);
      expect(logReads()).toBeGreaterThan(logReadsBefore);
    } finally {
      network.down.delete("c.test");
    }
    const later = new MimiClient({ home: bob.home, fetch: network.fetch });
    const recovered = await later.sync();
    expect(recovered.events.map((event) => event.type)).toContain("member-added");
    expect(await later.channel(url)).toMatchObject({ epoch: 2 });
    expect((await later.channel(url)).outOfSync).toBeUndefined();
    await alice.client.send(url, "everyone reads this");
    await later.sync();
    expect(texts((await later.messages(url)).messages)).toEqual(["everyone reads this"]);
  });
});

describe("a channel left out of sync while listening", () => {
  it("is tried again by itself, though nothing arrives for it, once the peer is back", async () => {
    const alice = await withDevice("alice9@a.test");
    const bob = await withDevice("bob9@b.test");
    const mallory = await withDevice("mallory9@c.test");
    const url = await channelWith("quiet-outage", alice, bob);
    let clock = Date.now();
    const live = new MimiClient({ home: bob.home, fetch: network.fetch, now: () => new Date(clock) });
    const abort = new AbortController();
    const events: ClientEvent[] = [];
    let wanted: (event: ClientEvent) => boolean = () => false;
    let seen: () => void = () => undefined;
    const waitFor = (predicate: (event: ClientEvent) => boolean) =>
      new Promise<void>((resolve) => {
        wanted = predicate;
        seen = resolve;
        if (events.some(predicate)) resolve();
      });
    const listening = live.listen(
      (event) => {
        events.push(event);
        if (wanted(event)) seen();
      },
      { signal: abort.signal, reconnectMs: 10, retryCheckMs: 20 },
    );
    try {
      // The Add reaches bob only once c.test is down (alice checked mallory's credential before).
      network.deliveryFate = (recipient, activity) =>
        recipient === bob.actor && activity.type === "Add" ? "hold" : "deliver";
      await alice.client.addMember(url, mallory.handle);
      expect((await alice.client.waitForChannel(url)).settled).toBe(true);
      network.deliveryFate = () => "deliver";
      network.down.add("c.test");
      const stuck = waitFor((event) => event.type === "skipped");
      network.releaseHeld();
      await stuck;
      expect((await live.channel(url)).outOfSync).toBeDefined();
      network.down.delete("c.test");
      // Past the retry interval and the time a failed lookup is remembered: tried again, unasked.
      clock += 60_000;
      await waitFor((event) => event.type === "member-added");
    } finally {
      abort.abort();
      await listening;
      network.deliveryFate = () => "deliver";
      network.down.delete("c.test");
    }
    expect(await live.channel(url)).toMatchObject({ epoch: 2 });
    expect((await live.channel(url)).outOfSync).toBeUndefined();
  });
});

describe("listening", () => {
  it("gives up a silent stream and reopens it from the cursor", async () => {
    const alice = await withDevice("alice5@a.test");
    const bob = await withDevice("bob5@b.test");
    const url = await channelWith("quiet", alice, bob);
    const abort = new AbortController();
    const warnings: string[] = [];
    const received: string[] = [];
    let done: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      done = resolve;
    });
    const opened = () =>
      network.requests.filter((request) => request.endsWith("/api/v1/mailbox/stream")).length;
    const before = opened();
    const listening = bob.client.listen(
      (event) => {
        if (event.type === "message") {
          received.push(event.message.content);
          done();
        }
      },
      { signal: abort.signal, reconnectMs: 10, idleTimeoutMs: 150, onWarning: (w) => warnings.push(w) },
    );
    try {
      while (opened() < before + 3) await new Promise((resolve) => setTimeout(resolve, 20));
      await alice.client.send(url, "after the silence");
      await arrived;
    } finally {
      abort.abort();
      await listening;
    }
    expect(warnings.some((warning) => /silent for/.test(warning))).toBe(true);
    expect(received).toEqual(["after the silence"]);
  });
});

describe("our own rename", () => {
  it("is the name once its turn in the channel's order comes, whatever was logged before it", async () => {
    const alice = await withDevice("alice6@a.test");
    const bob = await withDevice("bob6@b.test");
    const url = await channelWith("names", alice, bob);
    await alice.client.setRole(url, bob.handle, "admin");
    await alice.client.sync();
    // bob's rename is logged first, but reaches alice only after she renamed too.
    network.deliveryFate = (recipient, activity) =>
      recipient === alice.actor && activity.type === "Update" && activity.actor === bob.actor
        ? "hold"
        : "deliver";
    try {
      await bob.client.rename(url, "bob's name");
      await alice.client.rename(url, "alice's name");
    } finally {
      network.deliveryFate = () => "deliver";
    }
    network.releaseHeld();
    await alice.client.sync();
    await bob.client.sync();
    expect((await alice.client.channel(url)).name).toBe("alice's name");
    expect((await bob.client.channel(url)).name).toBe("alice's name");
  });
});
