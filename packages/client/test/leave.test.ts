import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { DEPARTURE_FALLBACK_MS, leaveActivity, leaveStatus } from "../src/conversation/departures.js";
import { type ClientEvent, MimiClient } from "../src/mimi-client.js";
import { FakeNetwork } from "./fake-provider.js";
import { newAccount, texts } from "./helpers.js";

/**
 * Leaving a channel: the leaver's Leave, the channel's answer (here a stand-in for the channel-sequencer's
 * rules: the owner stays while others remain; the leaver stops being a follower and the Leave is forwarded
 * to the members and the leaver), and a remaining member committing the leaver's Remove by itself.
 */
let network: FakeNetwork;
/** How far the clients' clock runs ahead of the real one (certificates are issued at real time). */
let skewMs = 0;

type Json = Record<string, unknown>;

/** The channel's side of a Leave, in front of the fake provider's outbox. */
const leavingFetch: typeof fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  if (request.method === "POST" && /\/users\/[^/]+\/outbox$/.test(new URL(request.url).pathname)) {
    const activity = (await request.clone().json()) as Json;
    if (activity.type === "Leave") return leave(activity);
  }
  return network.fetch(request);
};

function leave(activity: Json): Response {
  const channel = network.channels.get(String(activity.target));
  const leaver = String(activity.actor);
  if (!channel) return new Response(null, { status: 404 });
  const answer = (type: "Accept" | "Reject", extra: Json) =>
    network.deliver(
      leaver,
      {
        id: `${channel.url}/activities/${randomUUID()}`,
        type,
        actor: channel.url,
        object: activity.id,
        to: [leaver],
        ...extra,
      },
      channel.url,
    );
  if (channel.roles.get(leaver) === "owner" && channel.followers.size > 1) {
    answer("Reject", {
      summary: "the channel's owner cannot leave while other members remain",
      "mimi:reason": "lastOwner",
    });
  } else {
    channel.followers.delete(leaver);
    channel.roles.delete(leaver);
    const sequence = (channel.log.at(-1)?.sequence ?? 0) + 1;
    channel.log.push({ sequence, epoch: Number(channel.state.epoch), activity });
    for (const follower of [...channel.followers, leaver])
      network.deliver(follower, { ...activity, "mimi:sequence": sequence }, channel.url);
    answer("Accept", { "mimi:epoch": Number(channel.state.epoch), "mimi:sequence": sequence });
  }
  return new Response(null, { status: 202 });
}

async function member(handle: string) {
  const account = await newAccount(network, handle);
  const client = new MimiClient({
    home: account.home,
    fetch: leavingFetch,
    keyPackageTarget: 3,
    keyPackageThreshold: 2,
    keyUpdate: false,
    now: () => new Date(Date.now() + skewMs),
  });
  expect((await client.addDevice("laptop")).keyPackages.ok).toBe(true);
  return { ...account, client };
}

const ofType = <T extends ClientEvent["type"]>(events: ClientEvent[], type: T) =>
  events.filter((event): event is Extract<ClientEvent, { type: T }> => event.type === type);

beforeAll(async () => {
  network = await FakeNetwork.create(["a.test", "b.test"]);
});

describe("leaveActivity", () => {
  it("names the channel as object and target, addressed to its followers", () => {
    const activity = leaveActivity("http://b.test/users/bob", "http://a.test/channels/c");
    expect(activity).toMatchObject({
      type: "Leave",
      actor: "http://b.test/users/bob",
      object: "http://a.test/channels/c",
      target: "http://a.test/channels/c",
      to: ["http://a.test/channels/c/followers"],
    });
    expect(activity.id).toMatch(/^http:\/\/b\.test\/users\/bob\/activities\//);
  });
});

describe("leaving a channel", () => {
  it("a member leaves: marked left with its history, the others commit the removal and keep talking", async () => {
    const alice = await member("alice@a.test");
    const bob = await member("bob@b.test");
    const carol = await member("carol@a.test");
    const channel = await alice.client.createChannel("leaving");
    expect((await alice.client.waitForChannel(channel.url)).settled).toBe(true);
    for (const other of [bob, carol]) {
      await alice.client.addMember(channel.url, other.handle);
      expect((await alice.client.waitForChannel(channel.url)).settled).toBe(true);
    }
    await bob.client.sync();
    await carol.client.sync();
    await alice.client.send(channel.url, "before bob leaves");
    await bob.client.sync();
    await carol.client.sync();

    const left = await bob.client.leave(channel.url);
    expect(left.outcome).toEqual({ status: "left" });
    expect(left.channel).toMatchObject({ status: "left", note: "you left" });
    expect(ofType(left.events, "left")).toHaveLength(1);
    expect(texts((await bob.client.messages(channel.url)).messages)).toEqual(["before bob leaves"]);

    // carol's leaf is not the lowest: she waits for alice, who commits the Remove on her sync.
    const carolSees = await carol.client.sync();
    expect(ofType(carolSees.events, "member-left")).toMatchObject([{ actor: bob.actor }]);
    expect((await carol.client.channel(channel.url)).waiting).toBe(false);
    await alice.client.sync();
    expect((await alice.client.channel(channel.url)).waiting).toBe(true);
    const settled = await alice.client.waitForChannel(channel.url);
    expect(settled.settled).toBe(true);
    expect(ofType(settled.events, "accepted")).toMatchObject([{ what: "remove" }]);
    const carolApplies = await carol.client.sync();
    expect(ofType(carolApplies.events, "member-removed")).toMatchObject([{ actor: bob.actor }]);
    const roster = await alice.client.members(channel.url);
    expect(roster.members.map((m) => m.acct).sort()).toEqual(["acct:alice@a.test", "acct:carol@a.test"]);

    await carol.client.send(channel.url, "just us now");
    expect(
      texts((await alice.client.sync()).events.flatMap((e) => (e.type === "message" ? [e.message] : []))),
    ).toEqual(["just us now"]);
    // bob receives nothing new and keeps what he had.
    await bob.client.sync();
    expect(texts((await bob.client.messages(channel.url)).messages)).toEqual(["before bob leaves"]);
  });

  it("the owner cannot leave while others remain: the channel's reason, nothing changes", async () => {
    const dave = await member("dave@a.test");
    const erin = await member("erin@b.test");
    const channel = await dave.client.createChannel("kept");
    expect((await dave.client.waitForChannel(channel.url)).settled).toBe(true);
    await dave.client.addMember(channel.url, erin.handle);
    expect((await dave.client.waitForChannel(channel.url)).settled).toBe(true);
    const refused = await dave.client.leave(channel.url);
    expect(refused.outcome).toEqual({
      status: "refused",
      reason: "the channel's owner cannot leave while other members remain",
    });
    expect(refused.channel.status).toBe("active");
    expect(ofType(refused.events, "rejected")[0]).toMatchObject({
      what: "leave",
      reason: "the channel's owner cannot leave while other members remain",
      retried: false,
    });
  });

  it("when the member with the lowest leaf is away, another commits the removal after the fallback delay", async () => {
    const frank = await member("frank@a.test");
    const gina = await member("gina@b.test");
    const hugo = await member("hugo@b.test");
    const channel = await frank.client.createChannel("fallback");
    expect((await frank.client.waitForChannel(channel.url)).settled).toBe(true);
    for (const other of [gina, hugo]) {
      await frank.client.addMember(channel.url, other.handle);
      expect((await frank.client.waitForChannel(channel.url)).settled).toBe(true);
    }
    await gina.client.sync();
    await hugo.client.sync();
    expect((await gina.client.leave(channel.url)).outcome).toEqual({ status: "left" });
    await hugo.client.sync();
    expect((await hugo.client.channel(channel.url)).waiting).toBe(false);
    skewMs += DEPARTURE_FALLBACK_MS;
    await hugo.client.sync();
    const settled = await hugo.client.waitForChannel(channel.url);
    expect(ofType(settled.events, "accepted")).toMatchObject([{ what: "remove" }]);
    // frank, back, applies hugo's Remove and has nothing left to commit.
    const back = await frank.client.sync();
    expect(ofType(back.events, "member-removed").map((e) => e.by)).toContain(hugo.actor);
    expect((await frank.client.channel(channel.url)).waiting).toBe(false);
    const state = (await frank.client.members(channel.url)).members.map((m) => m.acct);
    expect(state).not.toContain("acct:gina@b.test");
  });
});

describe("leaveStatus", () => {
  const record = {
    id: "c",
    url: "http://a.test/channels/c",
    name: "c",
    status: "active" as const,
    epoch: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    actors: {},
    logSequence: 1,
    seen: [],
  };
  it("is left, refused with the reason, or waiting", () => {
    expect(leaveStatus({ ...record, status: "left" })).toEqual({ status: "left" });
    expect(leaveStatus({ ...record, leaving: "x" } as typeof record)).toEqual({ status: "waiting" });
    expect(leaveStatus({ ...record, leaveRefused: "no" } as typeof record)).toEqual({
      status: "refused",
      reason: "no",
    });
  });
});
