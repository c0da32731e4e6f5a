import { type ChannelSummary, type ClientEvent, ProviderApi } from "@mimi/client";
import { commit, decodeKeyPackage, loadCiphersuite, toWireObject } from "@mimi/mls";
import { TestClients } from "@mimi/testkit/e2e";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, openDeployment } from "./deployment.js";

/**
 * The channels of the seed draft across three providers: alice@a.test hosts the channel, bob@b.test,
 * dave@b.test and carol@c.test join it. Written once, run against any deployment (see deployment.ts).
 */
let deployment: Deployment;
const clients = new TestClients(() => deployment);
const signUp = (user: string, domain: string) => clients.signUp(user, domain);
const client = (user: string) => clients.client(user);
const syncUntil = clients.syncUntil.bind(clients);
let channel: ChannelSummary;

async function texts(user: string): Promise<string[]> {
  return (await client(user).messages(channel.url)).messages.map((m) => m.content);
}

async function expectMessageEverywhere(text: string, users: string[]): Promise<void> {
  for (const user of users)
    await syncUntil(user, `message "${text}"`, async () => (await texts(user)).includes(text));
}

/** Followers (server) == accounts in the MLS roster (client), as actor URLs. */
async function expectFollowersMatchRoster(user: string): Promise<void> {
  const list = await client(user).members(channel.url);
  expect(list.followersError).toBeUndefined();
  const rosterActors = list.members.map((m) => m.actor).sort();
  expect([...(list.followers ?? [])].sort()).toEqual(rosterActors);
}

beforeAll(async () => {
  deployment = await openDeployment();
  await signUp("alice", "a.test");
  await signUp("bob", "b.test");
  await signUp("carol", "c.test");
  await signUp("dave", "b.test");
}, 240_000);

afterAll(async () => {
  await clients.closeAll();
  await deployment?.close();
});

describe("channels across three providers", () => {
  it("alice creates a channel and adds bob and carol with KeyPackages claimed across providers", async () => {
    channel = await client("alice").createChannel("mimi-discussion");
    const created = await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 });
    expect(created.settled).toBe(true);
    expect(created.channel.status).not.toBe("pending");

    await client("alice").addMember(channel.url, "bob@b.test");
    expect((await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil("bob", "joining", async () =>
      (await client("bob").channels()).some((c) => c.url === channel.url),
    );

    await client("alice").addMember(channel.url, "carol@c.test");
    expect((await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil("carol", "joining", async () =>
      (await client("carol").channels()).some((c) => c.url === channel.url),
    );
    await syncUntil("bob", "carol's add", async () => (await client("bob").channel(channel.url)).epoch === 2);

    const roster = await client("alice").members(channel.url);
    expect(roster.members.map((m) => m.acct).sort()).toEqual([
      "acct:alice@a.test",
      "acct:bob@b.test",
      "acct:carol@c.test",
    ]);
    await expectFollowersMatchRoster("alice");
  });

  it("everyone's messages are decrypted by all the others", async () => {
    await client("alice").send(channel.url, "hello from alice");
    await client("bob").send(channel.url, "hello from bob");
    await client("carol").send(channel.url, "hello from carol");
    await expectMessageEverywhere("hello from alice", ["bob", "carol"]);
    await expectMessageEverywhere("hello from bob", ["alice", "carol"]);
    await expectMessageEverywhere("hello from carol", ["alice", "bob"]);
    const fromBob = (await client("carol").messages(channel.url)).messages.find(
      (m) => m.content === "hello from bob",
    );
    expect(fromBob?.actor).toBe("http://b.test/users/bob");
  });

  it("one message reaches b.test in one POST although bob and dave are both members", async () => {
    await client("alice").addMember(channel.url, "dave@b.test");
    expect((await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil("dave", "joining", async () =>
      (await client("dave").channels()).some((c) => c.url === channel.url),
    );
    for (const user of ["bob", "carol"]) {
      await syncUntil(user, "dave's add", async () => (await client(user).channel(channel.url)).epoch === 3);
    }
    const before = deployment.postsTo?.("b.test", "/inbox");
    await client("carol").send(channel.url, "one post for b.test");
    await expectMessageEverywhere("one post for b.test", ["bob", "dave", "alice"]);
    if (before !== undefined) expect(deployment.postsTo?.("b.test", "/inbox")).toBe(before + 1);
    await expectFollowersMatchRoster("bob");
  });

  it("the owner makes bob and dave admins; carol, a member, may not rename", async () => {
    for (const user of ["bob", "dave"]) {
      const { activityId } = await client("alice").setRole(channel.url, `${user}@b.test`, "admin");
      await syncUntil("alice", `${user}'s role`, async () =>
        (await client("alice").members(channel.url)).members.some(
          (m) => m.acct === `acct:${user}@b.test` && m.role === "admin",
        ),
      );
      expect(activityId).toMatch(/^http:\/\/a\.test\/users\/alice\/activities\//);
    }
    const roles = Object.fromEntries(
      (await client("carol").members(channel.url)).members.map((m) => [m.acct, m.role]),
    );
    expect(roles).toEqual({
      "acct:alice@a.test": "owner",
      "acct:bob@b.test": "admin",
      "acct:carol@c.test": "member",
      "acct:dave@b.test": "admin",
    });
    await client("carol").rename(channel.url, "carol's channel now");
    let rejected: ClientEvent | undefined;
    for (const deadline = Date.now() + 30_000; rejected === undefined && Date.now() < deadline; ) {
      const round = await client("carol").sync();
      rejected = round.events.find((e) => e.type === "rejected" && e.what === "rename");
      if (rejected === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(rejected).toMatchObject({ reason: "only the channel's owner or an admin may rename the channel" });
    expect((await client("carol").channel(channel.url)).name).toBe("mimi-discussion");
  });

  it("a rename is seen by everyone", async () => {
    await client("bob").rename(channel.url, "mimi-discussion (now with ActivityPub)");
    for (const user of ["alice", "carol", "dave", "bob"]) {
      await syncUntil(
        user,
        "the rename",
        async () =>
          (await client(user).channel(channel.url)).name === "mimi-discussion (now with ActivityPub)",
      );
    }
  });

  it("bob and dave commit on the same epoch: one Accept, one Reject, both converge and the loser's retry succeeds", async () => {
    await signUp("erin", "c.test");
    await signUp("frank", "a.test");
    const epoch = (await client("bob").channel(channel.url)).epoch;
    expect((await client("dave").channel(channel.url)).epoch).toBe(epoch);
    await Promise.all([
      client("bob").addMember(channel.url, "erin@c.test"),
      client("dave").addMember(channel.url, "frank@a.test"),
    ]);
    const [bobDone, daveDone] = await Promise.all([
      client("bob").waitForChannel(channel.url, { timeoutMs: 60_000 }),
      client("dave").waitForChannel(channel.url, { timeoutMs: 60_000 }),
    ]);
    expect(bobDone.settled && daveDone.settled).toBe(true);
    const rejected = [...bobDone.events, ...daveDone.events].filter((e) => e.type === "rejected");
    expect(rejected).toHaveLength(1);
    for (const user of ["alice", "bob", "carol", "dave"]) {
      await syncUntil(
        user,
        "both adds",
        async () => (await client(user).channel(channel.url)).epoch === epoch + 2,
      );
    }
    const accts = (await client("alice").members(channel.url)).members.map((m) => m.acct).sort();
    expect(accts).toEqual([
      "acct:alice@a.test",
      "acct:bob@b.test",
      "acct:carol@c.test",
      "acct:dave@b.test",
      "acct:erin@c.test",
      "acct:frank@a.test",
    ]);
    await expectFollowersMatchRoster("carol");
  });

  it("alice removes carol: carol sees it, gets nothing later and cannot read later messages", async () => {
    await client("alice").removeMember(channel.url, "carol@c.test");
    expect((await client("alice").waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
    await syncUntil(
      "carol",
      "her removal",
      async () => (await client("carol").channel(channel.url)).status === "left",
    );
    const carolInboxBefore = (await client("carol").inbox()).length;
    await client("bob").send(channel.url, "after carol left");
    await expectMessageEverywhere("after carol left", ["alice", "dave"]);
    await client("carol").sync();
    expect(await texts("carol")).not.toContain("after carol left");
    expect((await client("carol").inbox()).length).toBe(carolInboxBefore);
    await expectFollowersMatchRoster("alice");
    const followers = (await client("alice").members(channel.url)).followers ?? [];
    expect(followers).not.toContain("http://c.test/users/carol");
  });
});

describe("what the channel refuses", () => {
  it.each([
    ["a removed member", "carol"],
    ["a non-member", "grace"],
  ])("%s's message is rejected and not forwarded", async (_who, user) => {
    if (!clients.has(user)) await signUp(user, "c.test");
    const account = await client(user).account();
    const id = `${account.actor}/activities/intruding-${Date.now()}`;
    const res = await fetch(`${deployment.server("c.test")}/users/${user}/outbox`, {
      method: "POST",
      headers: { "content-type": "application/activity+json", authorization: `Bearer ${account.token}` },
      body: JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id,
        type: "Create",
        actor: account.actor,
        object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "AAEAAg==" },
        target: channel.url,
        to: [`${channel.url}/followers`],
      }),
    });
    expect(res.status).toBe(202);
    const reject = await waitForActivity(user, (a) => a.type === "Reject" && a.object === id);
    expect(String(reject.summary)).toMatch(/member/i);
    const aliceItems = await client("alice").inbox({ after: 0, limit: 200 });
    expect(aliceItems.some((i) => (i.activity as { id?: string }).id === id)).toBe(false);
  });

  it("a stale-epoch commit is rejected with the current epoch", async () => {
    const alice = await client("alice").account();
    const current = (await client("alice").channel(channel.url)).epoch;
    const stale = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${alice.actor}/activities/stale-${Date.now()}`,
      type: "Remove",
      actor: alice.actor,
      object: "http://b.test/users/dave",
      target: channel.url,
      to: [`${channel.url}/followers`],
      "mimi:commit": {
        type: "PublicMessage",
        mediaType: "message/mls",
        encoding: "base64",
        content: "AAEAAQ==",
      },
      "mimi:groupInfo": {
        type: "GroupInfo",
        mediaType: "message/mls",
        encoding: "base64",
        content: "AAEABA==",
      },
    };
    const res = await fetch(`${deployment.server("a.test")}/users/alice/outbox`, {
      method: "POST",
      headers: { "content-type": "application/activity+json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify(stale),
    });
    expect(res.status).toBe(202);
    const reject = await waitForActivity("alice", (a) => a.type === "Reject" && a.object === stale.id);
    expect(reject["mimi:currentEpoch"]).toBe(current);
    expect((await client("alice").channel(channel.url)).epoch).toBe(current);
  });

  it("an Add whose KeyPackage credentials name another actor than its object is rejected", async () => {
    if (!clients.has("heidi")) await signUp("heidi", "c.test");
    const alice = await client("alice").account();
    const before = await client("alice").channel(channel.url);
    // Alice's own MLS state, as her client stored it, commits an add of heidi's device...
    const stored = await clients.storedChannelState("alice", before.id);
    const claim = await new ProviderApi({ server: alice.server, token: alice.token }).claimKeyPackages(
      "heidi@c.test",
    );
    const keyPackages = (claim.items ?? []).map((item) => {
      const parsed = decodeKeyPackage(new Uint8Array(Buffer.from(String(item.content), "base64")));
      if (!parsed.ok) throw new Error(parsed.detail);
      return parsed.keyPackage;
    });
    const change = await commit(stored, await loadCiphersuite(), { add: keyPackages });
    // ...while the activity claims to add dave.
    const id = `${alice.actor}/activities/mismatched-add-${Date.now()}`;
    const res = await fetch(`${deployment.server("a.test")}/users/alice/outbox`, {
      method: "POST",
      headers: { "content-type": "application/activity+json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id,
        type: "Add",
        actor: alice.actor,
        object: "http://b.test/users/dave",
        target: channel.url,
        to: [`${channel.url}/followers`],
        "mimi:commit": toWireObject(change.commit),
        "mimi:welcome": toWireObject(change.welcome!),
        "mimi:groupInfo": toWireObject(change.groupInfo),
      }),
    });
    expect(res.status).toBe(202);
    const reject = await waitForActivity("alice", (a) => a.type === "Reject" && a.object === id);
    expect(reject["mimi:currentEpoch"]).toBe(before.epoch);
    await client("alice").sync();
    expect((await client("alice").channel(channel.url)).epoch).toBe(before.epoch);
    expect((await client("alice").members(channel.url)).followers).not.toContain("http://c.test/users/heidi");
  });
});

async function waitForActivity(
  user: string,
  match: (activity: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const items = await client(user).inbox({ after: 0, limit: 200 });
    const found = items.map((i) => i.activity as Record<string, unknown>).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${user}: no matching activity`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
