import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { isDmMessage } from "../src/dm/activities.js";
import { FakeNetwork } from "./fake-provider.js";
import { accountWithDevice, type TestAccount, texts } from "./helpers.js";

/**
 * Group DMs on the fake network: a conversation started by its first message, a DM message refused
 * when anyone but its actor delivered it or when it comes from outside the conversation, and one that
 * arrives before its group's Welcome kept until the Welcome comes.
 */
let network: FakeNetwork;
let alice: TestAccount;
let bob: TestAccount;
let carol: TestAccount;

beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
  alice = await accountWithDevice(network, "alice@a.test");
  bob = await accountWithDevice(network, "bob@b.test");
  carol = await accountWithDevice(network, "carol@b.test");
});

const dmTexts = async (account: TestAccount, others: string[]) =>
  texts((await account.client.readDm(others)).messages);

describe("group DMs", () => {
  it("start with their first message and reach the other participant", async () => {
    const sent = await alice.client.dm(["bob@b.test"], "hello bob");
    expect(sent.started).toBe(true);
    const events = (await bob.client.sync()).events;
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(["joined", "message"]));
    expect(await dmTexts(bob, ["alice@a.test"])).toEqual(["hello bob"]);
    const message = (await bob.client.readDm(["alice@a.test"])).messages[0];
    expect(message?.senderUri).toBe("acct:alice@a.test");
    expect((await alice.client.dm(["bob@b.test"], "again")).started).toBe(false);
  });

  it("refuse a DM message delivered by anyone but its actor, or from outside the conversation", async () => {
    const captured: Record<string, unknown>[] = [];
    network.deliveryFate = (recipient, activity) => {
      if (recipient === bob.actor && isDmMessage(activity)) {
        captured.push(activity);
        return "drop";
      }
      return "deliver";
    };
    await alice.client.dm(["bob@b.test"], "captured");
    network.deliveryFate = () => "deliver";
    const message = captured[0] as Record<string, unknown>;
    // Delivered as if carol's server had signed it: refused before decrypting.
    network.deliver(bob.actor, message, carol.actor);
    // carol claims to be its actor: she is not a participant.
    network.deliver(
      bob.actor,
      { ...message, id: `${carol.actor}/activities/x`, actor: carol.actor },
      carol.actor,
    );
    const skipped = (await bob.client.sync()).events.flatMap((event) =>
      event.type === "skipped" ? [event.reason] : [],
    );
    expect(skipped).toEqual([
      `a DM message delivered by ${carol.actor}, not by its actor`,
      `${carol.actor} is not a participant of ${String(message.context)}`,
    ]);
    expect(await dmTexts(bob, ["alice@a.test"])).toEqual(["hello bob", "again"]);
  });

  it("keep a message that comes before its group's Welcome until the Welcome arrives", async () => {
    network.deliveryFate = (recipient) => (recipient === carol.actor ? "hold" : "deliver");
    await alice.client.dm(["carol@b.test"], "before the welcome");
    network.deliveryFate = () => "deliver";
    // The message first, then the Add with its Welcome.
    network.releaseHeld((held) =>
      [...held].sort((a, b) => Number(isDmMessage(b.activity)) - Number(isDmMessage(a.activity))),
    );
    await carol.client.sync();
    expect(await dmTexts(carol, ["alice@a.test"])).toEqual(["before the welcome"]);
  });

  it("cannot be renamed, nor take in or put out anyone: another set is another conversation", async () => {
    const url = (await alice.client.dms()).find((c) => c.label === "@bob@b.test")?.sendingGroup as string;
    await expect(alice.client.addMember(url, "carol@b.test")).rejects.toThrow(/participants are fixed/);
    await expect(alice.client.removeMember(url, "bob@b.test")).rejects.toThrow(/participants are fixed/);
    await expect(alice.client.rename(url, "ours")).rejects.toThrow(/named by its participants/);
  });

  it("is given up by a participant's device when its host lets in someone else", async () => {
    const erin = await accountWithDevice(network, "erin@a.test");
    const fred = await accountWithDevice(network, "fred@b.test");
    await erin.client.dm(["fred@b.test"], "just us");
    await fred.client.sync();
    const url = (await erin.client.dms()).find((c) => c.label === "@fred@b.test")?.sendingGroup as string;
    // erin's client, tampered with, treats the group as a channel; the (fake) host accepts her Add.
    const { id } = await erin.client.channel(url);
    const file = join(erin.home, "accounts", erin.handle, "channels", `${id}.json`);
    const { dm: _dm, ...record } = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify(record));
    await erin.client.addMember(url, "carol@b.test");
    await erin.client.waitForChannel(url);

    const seen = (await fred.client.sync()).events;
    const skipped = seen.flatMap((event) => (event.type === "skipped" ? [event.reason] : []));
    expect(skipped).toContain(
      "the DM group holds acct:carol@b.test, not a participant of the conversation: this group is not used any more",
    );
    expect((await fred.client.channel(url)).status).toBe("failed");
    // carol does not join a conversation she is not part of.
    const carolSkipped = (await carol.client.sync()).events.flatMap((event) =>
      event.type === "skipped" ? [event.reason] : [],
    );
    expect(carolSkipped).toContain(
      "the DM group holds acct:carol@b.test, not a participant of the conversation",
    );
    expect((await carol.client.channels()).some((channel) => channel.url === url)).toBe(false);
    // fred's next message starts a new group of the same conversation.
    const next = await fred.client.dm(["erin@a.test"], "again, without carol");
    expect(next.started).toBe(true);
    expect(next.conversation.group?.url).not.toBe(url);
  });
});
