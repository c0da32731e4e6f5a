import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ChannelRecord } from "../src/account-store.js";
import { keyUpdateDue, keyUpdateLimits } from "../src/conversation/key-updates.js";
import { type ClientEvent, MimiClient } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, channelWith, texts } from "./helpers.js";

/**
 * Key updates of a client's own leaf: on demand (`rotateKeys`) and by themselves once the last one is
 * old enough or enough messages passed; members apply them like any commit. A channel that refuses one
 * (a server that does not take key updates, or the channel-sequencer's Reject with its `mimi:reason`)
 * answers with its reason, and the SDK then waits for the next turn.
 */
let network: FakeNetwork;
beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

const withDevice = (handle: string) => accountWithDevice(network, handle);

const ofType = <T extends ClientEvent["type"]>(events: ClientEvent[], type: T) =>
  events.filter((event): event is Extract<ClientEvent, { type: T }> => event.type === type);

describe("keyUpdateDue", () => {
  const limits = { maxAgeMs: 1_000, maxMessages: 3 };
  const record: ChannelRecord = {
    id: "c",
    url: "http://a.test/channels/c",
    name: "c",
    status: "active",
    state: "AAAA",
    epoch: 1,
    createdAt: "2025-01-01T00:00:00.000Z",
    actors: {},
    logSequence: 1,
    seen: [],
  };
  const at = (ms: number) => new Date(Date.parse(record.createdAt) + ms);

  it("is due once the last update (or joining) is old enough, or enough messages passed", () => {
    expect(keyUpdateDue(record, limits, at(999))).toBe(false);
    expect(keyUpdateDue(record, limits, at(1_000))).toBe(true);
    const recent = { at: at(500).toISOString(), messages: 2 };
    expect(keyUpdateDue({ ...record, keyUpdate: recent }, limits, at(1_000))).toBe(false);
    expect(keyUpdateDue({ ...record, keyUpdate: { ...recent, messages: 3 } }, limits, at(1_000))).toBe(true);
    // A refusal counts as the last turn: the next one comes a whole period later.
    const refused = { at: at(900).toISOString(), messages: 0, refused: "not handled" };
    expect(keyUpdateDue({ ...record, keyUpdate: refused }, limits, at(1_500))).toBe(false);
  });

  it("is never due while a change waits, the channel is behind, or it is not active", () => {
    const now = at(5_000);
    const pending = {
      activityId: "x",
      kind: "add" as const,
      acct: "acct:b@b.test",
      actor: "http://b.test/users/b",
      keyPackages: [],
      newState: "",
      newEpoch: 2,
      attempts: 1,
      submittedAt: record.createdAt,
    };
    expect(keyUpdateDue({ ...record, pending }, limits, now)).toBe(false);
    const outOfSync = { reason: "r", since: record.createdAt, triedAt: record.createdAt };
    expect(keyUpdateDue({ ...record, outOfSync }, limits, now)).toBe(false);
    expect(keyUpdateDue({ ...record, ahead: [{ sequence: 3 }] }, limits, now)).toBe(false);
    expect(keyUpdateDue({ ...record, ahead: [] }, limits, now)).toBe(true);
    expect(keyUpdateDue({ ...record, status: "left" }, limits, now)).toBe(false);
  });

  it("has defaults, and can be turned off", () => {
    expect(keyUpdateLimits(undefined)).toEqual({ maxAgeMs: 7 * 24 * 3600 * 1000, maxMessages: 1000 });
    expect(keyUpdateLimits({ maxMessages: 5 })).toMatchObject({ maxMessages: 5 });
    expect(keyUpdateLimits(false)).toBeUndefined();
  });
});

describe("rotateKeys", () => {
  it("commits an update of our own leaf that every member applies, and messages still flow", async () => {
    network.acceptKeyUpdates = true;
    try {
      const alice = await withDevice("alice@a.test");
      const bob = await withDevice("bob@b.test");
      const url = await channelWith("rotating", alice, bob);
      const submitted = await alice.client.rotateKeys(url);
      expect(submitted.epoch).toBe(2);
      const settled = await alice.client.waitForChannel(url);
      expect(settled.settled).toBe(true);
      expect(ofType(settled.events, "accepted").map((e) => [e.what, e.epoch])).toEqual([["update", 2]]);

      const received = await bob.client.sync();
      expect(ofType(received.events, "keys-updated").map((e) => e.by)).toEqual([alice.actor]);
      expect((await bob.client.channel(url)).epoch).toBe(2);

      await alice.client.send(url, "with fresh keys");
      await bob.client.rotateKeys(url);
      await bob.client.waitForChannel(url);
      await bob.client.send(url, "mine too");
      await bob.client.sync();
      await alice.client.sync();
      expect(texts((await bob.client.messages(url)).messages)).toEqual(["with fresh keys", "mine too"]);
      expect(texts((await alice.client.messages(url)).messages)).toEqual(["with fresh keys", "mine too"]);
      expect((await alice.client.channel(url)).epoch).toBe(3);
    } finally {
      network.acceptKeyUpdates = false;
    }
  });

  it("is refused by a channel that does not take key updates, with the channel's reason", async () => {
    const alice = await withDevice("alice2@a.test");
    const bob = await withDevice("bob2@b.test");
    const url = await channelWith("refusing", alice, bob);
    await alice.client.rotateKeys(url);
    const settled = await alice.client.waitForChannel(url);
    expect(settled.settled).toBe(true);
    const rejected = ofType(settled.events, "rejected");
    expect(rejected.at(-1)).toMatchObject({
      what: "update",
      retried: false,
      reason: "the channel does not handle Update of mimi:KeyUpdate",
    });
    expect(await alice.client.channel(url)).toMatchObject({ epoch: 1, waiting: false });
    await alice.client.send(url, "still fine");
    await bob.client.sync();
    expect(texts((await bob.client.messages(url)).messages)).toEqual(["still fine"]);
  });
});

describe("automatic key updates", () => {
  it("happen after the configured number of messages, and members follow", async () => {
    network.acceptKeyUpdates = true;
    try {
      const alice = await withDevice("alice3@a.test");
      const bob = await withDevice("bob3@b.test");
      const url = await channelWith("counted", alice, bob);
      const eager = new MimiClient({ home: alice.home, fetch: network.fetch, keyUpdate: { maxMessages: 3 } });
      await eager.send(url, "one");
      await eager.send(url, "two");
      expect(ofType((await eager.sync()).events, "key-update-submitted")).toEqual([]);
      await bob.client.sync();
      await bob.client.send(url, "three");
      const due = await eager.sync();
      expect(ofType(due.events, "key-update-submitted").map((e) => e.channel.url)).toEqual([url]);
      // The channel's answer comes with the next sync; the count starts again: no second update.
      const answered = await eager.sync();
      expect(ofType(answered.events, "accepted").map((e) => e.what)).toEqual(["update"]);
      expect(ofType(answered.events, "key-update-submitted")).toEqual([]);
      expect((await eager.channel(url)).epoch).toBe(2);
      expect(ofType((await bob.client.sync()).events, "keys-updated")).toHaveLength(1);
      await bob.client.send(url, "after the update");
      await eager.sync();
      expect(texts((await eager.messages(url)).messages)).toEqual([
        "one",
        "two",
        "three",
        "after the update",
      ]);
    } finally {
      network.acceptKeyUpdates = false;
    }
  });

  it("happen once the last one is old enough, and wait a whole period after a refusal", async () => {
    const alice = await withDevice("alice4@a.test");
    const bob = await withDevice("bob4@b.test");
    const url = await channelWith("aged", alice, bob);
    let clock = Date.now();
    const later = new MimiClient({
      home: alice.home,
      fetch: network.fetch,
      keyUpdate: { maxAgeMs: 60_000 },
      now: () => new Date(clock),
    });
    expect(ofType((await later.sync()).events, "key-update-submitted")).toEqual([]);
    clock += 60_000;
    // This channel refuses key updates: the attempt and its one retry are answered with the reason.
    const tried = await later.sync();
    expect(ofType(tried.events, "key-update-submitted")).toHaveLength(1);
    const answers: ClientEvent[] = [];
    for (let round = 0; round < 2; round += 1) answers.push(...(await later.sync()).events);
    expect(ofType(answers, "rejected").map((e) => [e.what, e.retried])).toEqual([
      ["update", true],
      ["update", false],
    ]);
    clock += 30_000;
    expect(ofType((await later.sync()).events, "key-update-submitted")).toEqual([]);
    network.acceptKeyUpdates = true;
    try {
      clock += 30_000;
      expect(ofType((await later.sync()).events, "key-update-submitted")).toHaveLength(1);
      expect(ofType((await later.sync()).events, "accepted").map((e) => e.what)).toEqual(["update"]);
      expect((await later.channel(url)).epoch).toBe(2);
    } finally {
      network.acceptKeyUpdates = false;
    }
  });

  it("leave a channel whose stored state does not decode to the rejoin, without failing the sync", async () => {
    const alice = await withDevice("alice6@a.test");
    const bob = await withDevice("bob6@b.test");
    const url = await channelWith("broken", alice, bob);
    const { id } = await alice.client.channel(url);
    const file = join(alice.home, "accounts", alice.handle, "channels", `${id}.json`);
    const record = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(
      file,
      JSON.stringify({ ...record, state: Buffer.from("not a state").toString("base64") }),
    );
    const due = new MimiClient({
      home: alice.home,
      fetch: network.fetch,
      keyUpdate: { maxAgeMs: 1 },
      now: () => new Date(Date.now() + 60_000),
    });
    const result = await due.sync();
    expect(ofType(result.events, "key-update-submitted")).toEqual([]);
  });

  it("can be turned off", async () => {
    const alice = await withDevice("alice5@a.test");
    const bob = await withDevice("bob5@b.test");
    const url = await channelWith("manual", alice, bob);
    const off = new MimiClient({ home: alice.home, fetch: network.fetch, keyUpdate: false });
    for (const text of ["a", "b", "c"]) await off.send(url, text);
    const offline = new MimiClient({
      home: alice.home,
      fetch: network.fetch,
      keyUpdate: false,
      now: () => new Date(Date.now() + 365 * 24 * 3600 * 1000),
    });
    expect(ofType((await offline.sync()).events, "key-update-submitted")).toEqual([]);
    expect((await off.channel(url)).waiting).toBe(false);
  });
});
