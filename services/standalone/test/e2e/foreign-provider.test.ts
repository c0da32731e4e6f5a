import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChannelSummary, MimiClient, ProviderApi, StateStore } from "@mimi/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPlaintext } from "../foreign/content.js";
import { signedHeaders } from "../foreign/http.js";
import { decodeWhole } from "../foreign/member.js";
import { type Activity, type Delivery, ForeignProvider } from "../foreign/provider.js";
import { type Federation, startFederation, waitFor } from "../support/federation.js";

/**
 * Interoperability with a provider this project did not build: foreign.test (test/foreign) is written
 * from docs/protocol.md alone, with its own HTTP signatures, domain CA, ts-mls client, bare KeyPackages
 * and plain UTF-8 plaintexts. alice@a.test, a real standalone provider, adds zed@foreign.test to a
 * channel; zed joins, reads, speaks and is removed. Each step asserts what the profile says.
 */
const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

let federation: Federation;
let foreign: ForeignProvider;
let alice: MimiClient;
let homes: string;
let channel: ChannelSummary;
/** The forwarded Add that carried zed's Welcome. */
let add: Activity;
/** alice's first message as zed decrypted it, and its id. */
let alicePlaintext: Uint8Array;
let aliceMessageId: string;

const ALICE = "http://a.test/users/alice";
/** Section 3.1: the headers every POST of this provider signs. */
const POST_SIGNED = ["(request-target)", "host", "date", "digest", "content-type"];

function followersOf(channelUrl: string): string {
  return `${channelUrl}/followers`;
}

function mlsBytes(object: unknown): Uint8Array {
  const wire = object as { mediaType?: unknown; encoding?: unknown; content?: unknown };
  expect(wire.mediaType).toBe("message/mls");
  expect(wire.encoding).toBe("base64");
  expect(wire.content).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
  return new Uint8Array(Buffer.from(String(wire.content), "base64"));
}

function delivered(what: string, match: (d: Delivery) => boolean): Promise<Delivery> {
  return waitFor(what, async () => foreign.deliveries.find(match), 30_000);
}

/** Section 6.8: the channel delivers its forwards itself, signed by C, addressed to F, numbered. */
function expectForwardedByChannel(delivery: Delivery): void {
  expect(delivery.path).toBe("/inbox");
  expect(delivery.signer).toBe(channel.url);
  expect(delivery.activity.target).toBe(channel.url);
  expect(delivery.activity.to).toContain(followersOf(channel.url));
  expect(Number.isInteger(delivery.activity["mimi:sequence"])).toBe(true);
  expect(delivery.signedHeaders).toEqual(expect.arrayContaining(POST_SIGNED));
  expect(delivery.contentType).toBe("application/activity+json");
}

/** A section 9 problem document with its machine-readable reason. */
async function expectProblem(
  answer: { status: number; headers: Record<string, string>; body: string },
  status: number,
  reason: string,
): Promise<void> {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect((JSON.parse(answer.body) as { reason?: string }).reason).toBe(reason);
}

function groupInfoEpoch(bytes: Uint8Array): bigint {
  const message = decodeWhole(bytes);
  if (message.wireformat !== "mls_group_info")
    throw new Error(`expected a GroupInfo, got ${message.wireformat}`);
  return message.groupInfo.groupContext.epoch;
}

function messageActivity(id: string, bytes: Uint8Array): Activity {
  return {
    id,
    type: "Create",
    actor: foreign.actorUrl,
    target: channel.url,
    to: [followersOf(channel.url)],
    object: {
      type: "PrivateMessage",
      mediaType: "message/mls",
      encoding: "base64",
      content: Buffer.from(bytes).toString("base64"),
    },
  };
}

async function aliceSees(text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await alice.sync();
    if ((await alice.messages(channel.url)).messages.some((m) => m.content === text)) return;
    if (Date.now() > deadline) throw new Error(`alice: timed out waiting for "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  foreign = new ForeignProvider("foreign.test", "zed");
  await foreign.listen();
  federation = await startFederation(["a.test"], { extraHosts: { "foreign.test": foreign.port } });
  foreign.connect(federation.connectTo);

  homes = mkdtempSync(join(tmpdir(), "mimi-foreign-"));
  const api = new ProviderApi({ server: federation.get("a.test").local });
  const created = await api.createAccount("alice", "alice's password");
  const me = await api.withToken(created.token).me();
  await new StateStore(join(homes, "alice")).saveAccount({
    server: api.server,
    username: me.username,
    acct: me.acct,
    actor: me.actor,
    token: created.token,
  });
  alice = new MimiClient({ home: join(homes, "alice"), connectTo: federation.connectTo });
  expect((await alice.addDevice("alice's laptop")).keyPackages.ok).toBe(true);
}, 240_000);

afterAll(async () => {
  await alice?.close();
  await federation?.close();
  await foreign?.close();
  if (homes) rmSync(homes, { recursive: true, force: true });
});

describe("a foreign provider built from docs/protocol.md", () => {
  it("alice adds zed@foreign.test: a.test claims from foreign.test, which answers a bare KeyPackage", async () => {
    channel = await alice.createChannel("with a foreign member");
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);
    // 6.9: a server hosting no member may not read F.
    expect((await foreign.read(followersOf(channel.url))).status).toBe(403);

    await alice.addMember(channel.url, "zed@foreign.test");
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);

    // 5.3: one signed claim, by the local user who asked, with suites and a fresh nonce.
    expect(foreign.claims).toHaveLength(1);
    const claim = foreign.claims[0]!;
    expect(claim.signer).toBe(ALICE);
    const body = claim.body as { ciphersuites?: unknown; "mimi:nonce"?: unknown };
    expect(body.ciphersuites).toContain(CIPHERSUITE);
    expect(typeof body["mimi:nonce"]).toBe("string");
    expect(claim.contentType).toBe("application/activity+json");
    expect(claim.signedHeaders).toEqual(expect.arrayContaining(POST_SIGNED));

    // 2.2: WebFinger asked with the JRD media type; 3.1: every other GET signed by a.test's instance actor.
    const webfinger = foreign.gets.filter((g) => g.path.startsWith("/.well-known/webfinger"));
    expect(webfinger.length).toBeGreaterThan(0);
    for (const get of webfinger) expect(get.accept).toContain("application/jrd+json");
    const actorGets = foreign.gets.filter((g) => g.path === "/users/zed" || g.path === "/actor");
    expect(actorGets.length).toBeGreaterThan(0);
    for (const get of actorGets) {
      expect(get.keyId).toBe("http://a.test/actor#main-key");
      expect(get.signedHeaders).toBe("(request-target) host date accept");
    }

    const roster = await alice.members(channel.url);
    expect(roster.members.map((m) => m.acct).sort()).toEqual(["acct:alice@a.test", "acct:zed@foreign.test"]);
    expect(roster.followers).toContain(foreign.actorUrl);
  });

  it("zed receives the Welcome in the Add the channel forwards, finds the Add in C/log and joins", async () => {
    const delivery = await delivered("the Add with zed's Welcome", (d) => d.activity.type === "Add");
    expectForwardedByChannel(delivery);
    add = delivery.activity;
    expect(add.actor).toBe(ALICE);
    expect(add.object).toBe(foreign.actorUrl);
    expect((add["mimi:commit"] as { type?: string }).type).toBe("PublicMessage");
    expect((add["mimi:welcome"] as { type?: string }).type).toBe("Welcome");

    // 6.9: the channel's host lets a server read C/log as soon as one of its users is a member.
    const log = await foreign.read(`${channel.url}/log?after=0`);
    expect(log.status).toBe(200);
    const items = (log.body?.items ?? []) as { sequence: number; epoch: number; activity: Activity }[];
    const entry = items.find((item) => item.activity.id === add.id);
    expect(log.body?.next).toBeNull();
    expect(entry?.sequence).toBe(add["mimi:sequence"]);

    await foreign.member.join(mlsBytes(add["mimi:welcome"]));
    // 6.4.3: the Add's GroupInfo is for the epoch after the commit, the one the Welcome opens.
    expect(groupInfoEpoch(mlsBytes(add["mimi:groupInfo"]))).toBe(foreign.member.epoch);
    expect(Number(foreign.member.epoch)).toBe(entry?.epoch);
    // 6.1: the last path segment of C is the base64url of the group id.
    expect(channel.url.split("/").at(-1)).toBe(Buffer.from(foreign.member.groupId).toString("base64url"));
    expect(foreign.member.memberAccts()).toEqual(["acct:alice@a.test", "acct:zed@foreign.test"]);

    // 6.9: C is a Service naming its group, epoch and inboxes.
    const actor = await foreign.read(channel.url);
    expect(actor.body?.type).toBe("Service");
    expect(actor.body?.["mimi:groupId"]).toBe(channel.url.split("/").at(-1));
    expect(actor.body?.["mimi:epoch"]).toBe(Number(foreign.member.epoch));
    const groupInfo = await foreign.read(`${channel.url}/groupInfo`);
    expect(groupInfo.status).toBe(200);
    expect(groupInfo.body?.type).toBe("GroupInfo");
    expect(groupInfo.body?.["mimi:epoch"]).toBe(Number(foreign.member.epoch));
  });

  it("zed decrypts alice's message, which the channel forwards to foreign.test", async () => {
    await alice.send(channel.url, "hello zed");
    const delivery = await delivered(
      "alice's message",
      (d) => d.activity.type === "Create" && d.activity.actor === ALICE,
    );
    expectForwardedByChannel(delivery);
    expect((delivery.activity.object as { type?: string }).type).toBe("PrivateMessage");
    alicePlaintext = await foreign.member.decrypt(mlsBytes(delivery.activity.object));
    expect(Buffer.from(alicePlaintext).includes("hello zed")).toBe(true);
  });

  it("section 7: alice's plaintext is MIMI content, and zed derives the id alice's client gave it", async () => {
    expect(alicePlaintext[0]).toBe(0x87);
    const read = readPlaintext(alicePlaintext, "acct:alice@a.test", channel.url);
    if (read.format !== "mimi") throw new Error(`read as ${read.format}`);
    expect(read.shown).toEqual({ text: "hello zed" });
    expect(read.content.salt).toHaveLength(16);
    expect(read.content.replaces).toBeNull();
    expect(read.content.inReplyTo).toBeNull();
    expect(read.content.senderUri).toBe("acct:alice@a.test");
    expect(read.content.roomUri).toBe(channel.url);
    expect(read.content.body).toMatchObject({
      cardinality: "single",
      disposition: 1,
      contentType: "text/plain;charset=utf-8",
    });
    const sent = (await alice.messages(channel.url)).messages.find((m) => m.content === "hello zed");
    expect(read.id).toBe(sent?.id);
    aliceMessageId = read.id;
  });

  it("section 7: alice's reply, reaction, edit and deletion name the message they refer to", async () => {
    const read = async (act: () => Promise<unknown>) => {
      const before = foreign.deliveries.length;
      await act();
      const delivery = await delivered(
        "alice's next message",
        (d) =>
          d.activity.type === "Create" &&
          d.activity.actor === ALICE &&
          foreign.deliveries.indexOf(d) >= before,
      );
      const plaintext = await foreign.member.decrypt(mlsBytes(delivery.activity.object));
      const result = readPlaintext(plaintext, "acct:alice@a.test", channel.url);
      if (result.format !== "mimi") throw new Error(`read as ${result.format}`);
      return result;
    };
    const reply = await read(() => alice.send(channel.url, "a reply", { inReplyTo: aliceMessageId }));
    expect(reply.content.inReplyTo).toBe(aliceMessageId);
    expect(reply.content.replaces).toBeNull();
    expect(reply.shown).toEqual({ text: "a reply" });

    const reaction = await read(() => alice.react(channel.url, aliceMessageId, "👍"));
    expect(reaction.content.inReplyTo).toBe(aliceMessageId);
    expect(reaction.content.body).toMatchObject({ cardinality: "single", disposition: 2 });
    expect(reaction.shown).toEqual({ text: "👍" });

    const edit = await read(() => alice.edit(channel.url, aliceMessageId, "hello again zed"));
    expect(edit.content.replaces).toBe(aliceMessageId);
    expect(edit.shown).toEqual({ text: "hello again zed" });

    const deletion = await read(() => alice.deleteMessage(channel.url, aliceMessageId));
    expect(deletion.content.replaces).toBe(aliceMessageId);
    expect(deletion.content.body).toEqual({ cardinality: "null", disposition: 1 });
  });

  it("zed speaks in plain UTF-8 text: the channel accepts it and alice sees it as text from zed", async () => {
    // 6.3: the author's provider fetches C and POSTs to its shared inbox when it has one.
    const actor = await foreign.read(channel.url);
    const endpoints = actor.body?.endpoints as { sharedInbox?: string } | undefined;
    const inbox = endpoints?.sharedInbox ?? String(actor.body?.inbox);
    const message = await foreign.member.encrypt(new TextEncoder().encode("hello from zed"));
    const id = `${foreign.actorUrl}/activities/${randomUUID()}`;
    const answer = await foreign.submit(inbox, messageActivity(id, message));
    expect(answer.status, answer.body).toBe(202);

    // 6.4.7: the channel answers with an Accept, signed by C, naming the log place and the epoch.
    const accept = await delivered(
      "the channel's Accept",
      (d) => d.activity.type === "Accept" && d.activity.object === id,
    );
    expect(accept.signer).toBe(channel.url);
    expect(accept.activity.actor).toBe(channel.url);
    expect(accept.activity.object).toBe(id);
    expect(accept.activity.to).toEqual([foreign.actorUrl]);
    expect(accept.activity["mimi:epoch"]).toBe(Number(foreign.member.epoch));
    expect(Number.isInteger(accept.activity["mimi:sequence"])).toBe(true);
    expect(foreign.deliveries.some((d) => d.activity.type === "Reject" && d.activity.object === id)).toBe(
      false,
    );

    // 6.4.9: the submitter is among the followers who get the numbered copy, as submitted.
    const copy = await delivered(
      "the copy of zed's message",
      (d) => d.activity.id === id && d.activity.type === "Create",
    );
    expectForwardedByChannel(copy);
    expect(copy.activity["mimi:sequence"]).toBe(accept.activity["mimi:sequence"]);
    expect(copy.activity.object).toEqual(messageActivity(id, message).object);

    // Section 7: a plaintext that is plain UTF-8 text is shown as text.
    await aliceSees("hello from zed");
    const shown = (await alice.messages(channel.url)).messages.find((m) => m.content === "hello from zed");
    expect(shown?.actor).toBe(foreign.actorUrl);
    expect(shown?.senderUri).toBe("acct:zed@foreign.test");
  });

  it("section 10: a message signed hs2019, typed ld+json, with an embedded actor and `to` as a string", async () => {
    const message = await foreign.member.encrypt(new TextEncoder().encode("liberally from zed"));
    const id = `${foreign.actorUrl}/activities/${randomUUID()}`;
    const activity = {
      ...messageActivity(id, message),
      actor: { id: foreign.actorUrl, type: "Person" },
      to: followersOf(channel.url),
    };
    const answer = await foreign.hosts.signedPost(
      `${channel.url}/inbox`,
      foreign.userKey,
      activity,
      'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
      "hs2019",
    );
    expect(answer.status, answer.body).toBe(202);
    const accept = await delivered(
      "the Accept of the liberal message",
      (d) => d.activity.type === "Accept" && d.activity.object === id,
    );
    expect(accept.signer).toBe(channel.url);
    await aliceSees("liberally from zed");
  });

  it("a member's rename is answered with the channel's Reject and its current epoch", async () => {
    const id = `${foreign.actorUrl}/activities/${randomUUID()}`;
    const answer = await foreign.submit(`${channel.url}/inbox`, {
      id,
      type: "Update",
      actor: foreign.actorUrl,
      target: channel.url,
      to: [followersOf(channel.url)],
      object: { type: "Service", id: channel.url, name: "renamed by zed" },
    });
    expect(answer.status, answer.body).toBe(202);
    // 6.4.8 and 9.3: signed by C, to the submitter, with the role rule's summary.
    const reject = await delivered("the channel's Reject", (d) => d.activity.type === "Reject");
    expect(reject.signer).toBe(channel.url);
    expect(reject.activity.object).toBe(id);
    expect(reject.activity.to).toEqual([foreign.actorUrl]);
    expect(reject.activity["mimi:currentEpoch"]).toBe(Number(foreign.member.epoch));
    expect(reject.activity.summary).toBe("only the channel's owner or an admin may rename the channel");
  });

  it("a.test refuses what section 9.1 lists, with its reason", async () => {
    const shared = "http://a.test/inbox";
    const message = messageActivity(`${foreign.actorUrl}/activities/${randomUUID()}`, new Uint8Array([0]));
    await expectProblem(
      await foreign.hosts.send(shared, {
        method: "POST",
        headers: { "content-type": "application/activity+json" },
        body: JSON.stringify(message),
      }),
      401,
      "missingSignature",
    );
    await expectProblem(
      await foreign.hosts.signedPost(shared, foreign.userKey, message, "text/plain"),
      415,
      "unsupportedMediaType",
    );
    await expectProblem(
      await foreign.submit(shared, { ...message, id: `http://elsewhere.test/activities/${randomUUID()}` }),
      403,
      "activityIdOriginMismatch",
    );
    await expectProblem(
      await foreign.submit(`${ALICE}/inbox`, message),
      403,
      "channelActivityNotFromChannel",
    );
    await expectProblem(await foreign.submit(shared, { ...message, id: undefined }), 400, "invalidEnvelope");
    const text = JSON.stringify(message);
    const json = { "content-type": "application/activity+json" };
    const signed = signedHeaders("POST", shared, foreign.userKey, json, text);
    await expectProblem(
      await foreign.hosts.send(shared, { method: "POST", headers: signed, body: text.replace("}", " }") }),
      401,
      "digestMismatch",
    );
    await expectProblem(
      await foreign.hosts.send(shared, {
        method: "POST",
        headers: { ...signed, "content-encoding": "gzip" },
        body: text,
      }),
      415,
      "unsupportedContentEncoding",
    );
    // 3.3: a signature more than the hour of skew past its five minutes.
    const stale = signedHeaders(
      "POST",
      shared,
      foreign.userKey,
      json,
      text,
      "rsa-sha256",
      new Date(Date.now() - 7_200_000),
    );
    await expectProblem(
      await foreign.hosts.send(shared, { method: "POST", headers: stale, body: text }),
      401,
      "dateOutOfWindow",
    );
  });

  it("foreign.test claims alice's KeyPackages from a.test, and a replayed claim is refused", async () => {
    // 2.2: WebFinger at the acct domain, then the actor, which names its claim endpoint (2.5).
    // 2.3: the acct domain publishes its ciphersuites and issuers, cacheable for five minutes.
    const configuration = await foreign.hosts.send("http://a.test/.well-known/mimi-configuration", {
      method: "GET",
      headers: { accept: "application/json" },
    });
    expect(configuration.status).toBe(200);
    expect(configuration.headers["cache-control"]).toBe("public, max-age=300");
    const published = JSON.parse(configuration.body) as { domain?: string; ciphersuites?: string[] };
    expect(published.domain).toBe("a.test");
    expect(published.ciphersuites).toContain(CIPHERSUITE);
    const byActor = await foreign.hosts.send(
      `http://a.test/.well-known/webfinger?resource=${encodeURIComponent(ALICE)}`,
      {
        method: "GET",
        headers: { accept: "application/jrd+json" },
      },
    );
    expect(byActor.status).toBe(200);
    expect(byActor.headers["access-control-allow-origin"]).toBe("*");
    expect((JSON.parse(byActor.body) as { subject?: string }).subject).toBe("acct:alice@a.test");

    const jrd = await foreign.hosts.send("http://a.test/.well-known/webfinger?resource=acct:alice@a.test", {
      method: "GET",
      headers: { accept: "application/jrd+json, application/json" },
    });
    expect(jrd.status).toBe(200);
    expect(jrd.headers["content-type"]).toMatch(/^application\/jrd\+json/);
    const links = (JSON.parse(jrd.body) as { links: { rel: string; type?: string; href: string }[] }).links;
    const self = links.find((l) => l.rel === "self" && l.type === "application/activity+json");
    expect(self?.href).toBe(ALICE);
    const actor = await foreign.read(ALICE);
    expect(actor.body?.id).toBe(ALICE);
    const claimUrl = String(actor.body?.["mimi:keyPackageClaim"]);
    expect(new URL(claimUrl).origin).toBe("http://a.test");

    // 5.3: a signed claim answered with one framed KeyPackage per client, attributed to alice.
    const body = JSON.stringify({ ciphersuites: [CIPHERSUITE], "mimi:nonce": randomUUID() });
    const headers = signedHeaders(
      "POST",
      claimUrl,
      foreign.userKey,
      { "content-type": "application/activity+json" },
      body,
    );
    const request = { method: "POST", headers, body };
    const answer = await foreign.hosts.send(claimUrl, request);
    expect(answer.status, answer.body).toBe(200);
    const collection = JSON.parse(answer.body) as {
      type?: string;
      attributedTo?: string;
      items?: Activity[];
    };
    expect(collection.type).toBe("Collection");
    expect(collection.attributedTo).toBe(ALICE);
    expect(collection.items).toHaveLength(1);
    const item = collection.items![0]!;
    expect(item.type).toBe("KeyPackage");
    expect(item.ciphersuite).toBe(CIPHERSUITE);
    const framed = mlsBytes(item);
    // 5.1: framed as an MLSMessage, wire format mls_key_package.
    expect(Buffer.from(framed.subarray(0, 4)).toString("hex")).toBe("00010005");
    const acct = await foreign.member.keyPackageAcct(
      framed,
      typeof item["mimi:client"] === "string" ? item["mimi:client"] : "",
    );
    expect(acct).toBe("acct:alice@a.test");

    // 5.3: a signature is answered once.
    await expectProblem(await foreign.hosts.send(claimUrl, request), 401, "replayedRequest");
  });

  it("alice removes zed: the channel tells foreign.test, zed applies the commit and is out", async () => {
    await alice.removeMember(channel.url, "zed@foreign.test");
    expect((await alice.waitForChannel(channel.url, { timeoutMs: 30_000 })).settled).toBe(true);

    // 6.4.9: a Remove's copy also goes to the removed actor.
    const delivery = await delivered("the Remove", (d) => d.activity.type === "Remove");
    expectForwardedByChannel(delivery);
    expect(delivery.activity.object).toBe(foreign.actorUrl);
    // 6.4.4: no Welcome; the GroupInfo is for the epoch after the removal.
    expect(delivery.activity["mimi:welcome"]).toBeUndefined();
    expect(groupInfoEpoch(mlsBytes(delivery.activity["mimi:groupInfo"]))).toBe(foreign.member.epoch + 1n);
    await foreign.member.applyCommit(mlsBytes(delivery.activity["mimi:commit"]));
    expect(foreign.member.removed).toBe(true);

    // 6.9: within the grace a removed member's server still reads F (without zed), but not the log.
    const followers = await foreign.read(followersOf(channel.url));
    expect(followers.status).toBe(200);
    expect(followers.body?.orderedItems).toEqual([ALICE]);
    expect((await foreign.read(`${channel.url}/log?after=0`)).status).toBe(403);
    expect((await foreign.read(`${channel.url}/groupInfo`)).status).toBe(403);
  });

  it("zed can no longer read: alice's next message never reaches foreign.test", async () => {
    const before = foreign.deliveries.length;
    const sent = await alice.send(channel.url, "after zed left");
    await waitFor(
      "the channel to accept alice's message",
      async () => {
        await alice.sync();
        const mine = (await alice.messages(channel.url)).messages.find((m) => m.id === sent.id);
        return mine?.status === "accepted" ? true : undefined;
      },
      30_000,
    );
    // Deliveries to one destination leave in order (section 11): give a stray copy time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(foreign.deliveries.slice(before)).toEqual([]);
    await expect(foreign.member.encrypt(new TextEncoder().encode("still here?"))).rejects.toThrow();
    // Nothing a.test POSTed here (forwards, Accepts, Rejects, claims) was refused.
    expect(foreign.refusals.filter((r) => r.method === "POST")).toEqual([]);
  });
});
