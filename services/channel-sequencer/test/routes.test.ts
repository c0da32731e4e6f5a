import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type KeyResolver, signRequest, verifyRequest } from "@mimi/http-signatures";
import { type CiphersuiteImpl, type ClientState, commit, loadCiphersuite, toWireObject } from "@mimi/mls";
import { createApp, createMetrics, type RunningServer, startServer } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChannelSequencerContext, channelSequencerRouter } from "../src/service.js";
import {
  A,
  activity,
  actors,
  addActivity,
  createAccount,
  createChannelActivity,
  createTestCas,
  createTestContext,
  createTestDatabase,
  enrol,
  handleToSettled,
  inboxItem,
  newGroup,
  recordingBus,
} from "./harness.js";

interface RemoteSigner {
  keyId: string;
  owner: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function remoteSigner(owner: string): RemoteSigner {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { keyId: `${owner}#main-key`, owner, privateKey, publicKey };
}

const bServer = remoteSigner("http://b.test/actor");
const cServer = remoteSigner("http://c.test/actor");
const impostor = { ...remoteSigner("http://b.test/actor"), keyId: bServer.keyId };

const keys: KeyResolver = {
  async resolve(keyId) {
    const signer = [bServer, cServer].find((candidate) => candidate.keyId === keyId);
    return signer
      ? { ok: true, key: { keyId, owner: signer.owner, publicKey: signer.publicKey } }
      : { ok: false, reason: "keyFetchError", detail: `unknown key ${keyId}` };
  },
};

/** A remote provider c.test hosting channel `remote1` whose only member is alice of a.test. */
interface FakeChannelHost {
  port: number;
  /** Each request with whether its signature verified as a.test's instance actor. */
  requests: { url: string; verifiedAs: string | undefined }[];
  close(): Promise<void>;
}

async function startFakeChannelHost(instanceKey: () => Promise<KeyObject>): Promise<FakeChannelHost> {
  const requests: FakeChannelHost["requests"] = [];
  const resolver: KeyResolver = {
    async resolve(keyId) {
      return { ok: true, key: { keyId, owner: `${A}/actor`, publicKey: await instanceKey() } };
    },
  };
  const documents: Record<string, unknown> = {
    "/channels/remote1/followers": {
      type: "OrderedCollection",
      orderedItems: [actors.alice],
      "mimi:roles": { [actors.alice]: "owner" },
    },
    "/channels/remote1/log?after=0&limit=100": {
      items: [{ sequence: 1, epoch: 0, activity: { id: "x" } }],
      next: null,
    },
  };
  const server: Server = createServer(async (req, res) => {
    const verified = await verifyRequest(
      { method: req.method ?? "GET", path: req.url ?? "", headers: req.headers },
      resolver,
    );
    requests.push({ url: req.url ?? "", verifiedAs: verified.ok ? verified.keyOwner : undefined });
    const document = documents[req.url ?? ""];
    // A channel "hosted" here whose followers redirect to another origin (d.test, served here too).
    if (req.url === "/channels/hijacked/followers")
      res.writeHead(302, { location: "http://d.test/channels/remote1/followers" }).end();
    else if (!verified.ok) res.writeHead(401).end();
    else if (document === undefined) res.writeHead(404).end();
    else res.writeHead(200, { "content-type": "application/activity+json" }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let sql: Sql;
let cs: CiphersuiteImpl;
let ctx: ChannelSequencerContext;
let server: RunningServer;
let fakeHost: FakeChannelHost;
let base: string;
/** alice's MLS state after she added bob. */
let aliceState: ClientState;
const tokens: Record<string, string> = {};
const bus = recordingBus();
const groupId = randomBytes(16);
const channelId = groupId.toString("base64url");
const C = `${A}/channels/${channelId}`;

function signedGet(path: string, signer: Pick<RemoteSigner, "keyId" | "privateKey">): Promise<Response> {
  const url = `${base}${path}`;
  const headers = signRequest(
    { method: "GET", url, headers: { accept: "application/activity+json" } },
    signer,
  );
  delete headers.host;
  return fetch(url, { headers });
}

function withToken(path: string, token: string | undefined): Promise<Response> {
  return fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
}

beforeAll(async () => {
  const cas = await createTestCas();
  [sql, cs] = await Promise.all([createTestDatabase(), loadCiphersuite()]);
  let instancePublicKey: KeyObject | undefined;
  fakeHost = await startFakeChannelHost(async () => {
    if (!instancePublicKey) throw new Error("no instance key yet");
    return instancePublicKey;
  });
  ({ ctx } = createTestContext({
    sql,
    bus,
    cas,
    env: { MIMI_DEV_CONNECT_TO: `c.test=127.0.0.1:${fakeHost.port},d.test=127.0.0.1:${fakeHost.port}` },
    overrides: { keys },
  }));
  instancePublicKey = createPublicKey(await ctx.actorKeys.ensure(`${A}/actor`));
  for (const user of ["alice", "erin"]) tokens[user] = await createAccount(sql, user);

  // Channel: alice (a.test) created it and added bob (b.test).
  const validateCredential = async (
    credential: Parameters<typeof ctx.credentials.verify>[0],
    key: Uint8Array,
  ) => (await ctx.credentials.verify(credential, key)).ok;
  const alice = await enrol(cs, cas.a, "alice", actors.alice);
  const bob = await enrol(cs, cas.b, "bob", actors.bob);
  const state = await newGroup(alice, groupId, cs, validateCredential);
  const create = await createChannelActivity(actors.alice, C, "general", state, cs);
  expect(await handleToSettled(ctx, inboxItem(channelId, create))).toEqual({ kind: "ok" });
  const output = await commit(state, cs, { add: [bob.keyPackage] });
  const add = addActivity(actors.alice, C, actors.bob, output);
  expect(await handleToSettled(ctx, inboxItem(channelId, add))).toEqual({ kind: "ok" });
  expect((await ctx.store.channel(channelId))?.epoch).toBe(1);
  aliceState = output.newState;

  const logger = ctx.logger;
  const app = createApp({
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [channelSequencerRouter(ctx)],
  });
  server = await startServer(app, { port: 0, host: "127.0.0.1", logger });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  await ctx.close();
  await fakeHost.close();
  await bus.close();
  await sql.close();
});

const channelPath = () => `/channels/${channelId}`;

describe("channel routes", () => {
  it("serves the Service actor to anyone, with the channel's key", async () => {
    const res = await fetch(`${base}${channelPath()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/activity+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: C,
      type: "Service",
      name: "general",
      attributedTo: actors.alice,
      inbox: `${C}/inbox`,
      outbox: `${C}/outbox`,
      followers: `${C}/followers`,
      endpoints: { sharedInbox: `${A}/inbox` },
      "mimi:groupId": channelId,
      "mimi:epoch": 1,
      "mimi:groupInfo": `${C}/groupInfo`,
      ciphersuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
    });
    expect(body.publicKey).toMatchObject({ id: `${C}#main-key`, owner: C });
    expect((await fetch(`${base}/channels/unknown`)).status).toBe(404);
  });

  it("serves the followers to members' tokens and to servers hosting a member only", async () => {
    const path = `${channelPath()}/followers`;
    expect((await fetch(`${base}${path}`)).status).toBe(401);
    const byMember = await withToken(path, tokens.alice);
    expect(byMember.status).toBe(200);
    expect(await byMember.json()).toMatchObject({
      id: `${C}/followers`,
      type: "OrderedCollection",
      totalItems: 2,
      orderedItems: [actors.alice, actors.bob].sort(),
      "mimi:roles": { [actors.alice]: "owner", [actors.bob]: "member" },
    });
    expect((await withToken(path, tokens.erin)).status).toBe(403);
    expect((await withToken(path, "mimi_not-a-token")).status).toBe(401);
    expect((await signedGet(path, bServer)).status).toBe(200);
    expect((await signedGet(path, cServer)).status).toBe(403);
    expect((await signedGet(path, impostor)).status).toBe(401);
    expect((await withToken("/channels/unknown/followers", tokens.alice)).status).toBe(404);
  });

  it("serves the latest GroupInfo and the log under the same rule", async () => {
    const groupInfo = await signedGet(`${channelPath()}/groupInfo`, bServer);
    expect(groupInfo.status).toBe(200);
    const document = (await groupInfo.json()) as Record<string, unknown>;
    expect(document).toMatchObject({
      type: "GroupInfo",
      mediaType: "message/mls",
      encoding: "base64",
      "mimi:epoch": 1,
    });
    const stored = await ctx.store.groupInfo(channelId);
    expect(document.content).toBe(Buffer.from(stored?.groupInfo ?? []).toString("base64"));
    expect((await signedGet(`${channelPath()}/groupInfo`, cServer)).status).toBe(403);

    const first = await withToken(`${channelPath()}/log?after=0&limit=1`, tokens.alice);
    const page = (await first.json()) as {
      items: { sequence: number; epoch: number; activity: { type: string; "mimi:sequence": number } }[];
      next: string;
    };
    expect(page.items.map((item) => [item.sequence, item.epoch, item.activity.type])).toEqual([
      [1, 0, "Create"],
    ]);
    // A log item's activity is the forwarded copy: it carries the item's sequence.
    expect(page.items[0]?.activity["mimi:sequence"]).toBe(1);
    expect(page.next).toBe(`${C}/log?after=1&limit=1`);
    const rest = (await (await signedGet(`${channelPath()}/log?after=1`, bServer)).json()) as typeof page;
    expect(rest.items.map((item) => [item.sequence, item.epoch, item.activity.type])).toEqual([
      [2, 1, "Add"],
    ]);
    expect(rest.items[0]?.activity["mimi:sequence"]).toBe(2);
    expect(rest.next).toBeNull();
    expect((await withToken(`${channelPath()}/log?limit=0`, tokens.alice)).status).toBe(400);
    // A peer asking for larger pages than this server serves gets this server's largest.
    const large = (await (
      await withToken(`${channelPath()}/log?after=0&limit=100000`, tokens.alice)
    ).json()) as typeof page;
    expect(large.items.map((item) => item.sequence)).toEqual([1, 2]);
    expect((await withToken(`${channelPath()}/log`, tokens.erin)).status).toBe(403);
  });

  it("lists the local channels the token's user follows", async () => {
    const mine = await withToken("/api/v1/channels", tokens.alice);
    expect(await mine.json()).toEqual({ channels: [{ id: C, name: "general", epoch: 1 }] });
    expect(await (await withToken("/api/v1/channels", tokens.erin)).json()).toEqual({ channels: [] });
    expect((await withToken("/api/v1/channels", undefined)).status).toBe(401);
  });

  it("answers client reads of a local channel for members only", async () => {
    const query = `channel=${encodeURIComponent(C)}`;
    const followers = await withToken(`/api/v1/channels/followers?${query}`, tokens.alice);
    expect(await followers.json()).toMatchObject({
      orderedItems: [actors.alice, actors.bob].sort(),
      "mimi:roles": { [actors.alice]: "owner", [actors.bob]: "member" },
    });
    expect((await withToken(`/api/v1/channels/group-info?${query}`, tokens.alice)).status).toBe(200);
    const log = (await (await withToken(`/api/v1/channels/log?${query}&after=1`, tokens.alice)).json()) as {
      items: { sequence: number }[];
    };
    expect(log.items.map((item) => item.sequence)).toEqual([2]);
    expect((await withToken(`/api/v1/channels/followers?${query}`, tokens.erin)).status).toBe(403);
    expect((await withToken("/api/v1/channels/followers?channel=nope", tokens.alice)).status).toBe(400);
  });

  it("relays reads of a remote channel, fetched signed as the instance actor, for its members only", async () => {
    const remote = encodeURIComponent("http://c.test/channels/remote1");
    const followers = await withToken(`/api/v1/channels/followers?channel=${remote}`, tokens.alice);
    expect(followers.status).toBe(200);
    expect(await followers.json()).toEqual({
      type: "OrderedCollection",
      orderedItems: [actors.alice],
      "mimi:roles": { [actors.alice]: "owner" },
    });
    const log = await withToken(`/api/v1/channels/log?channel=${remote}&after=0`, tokens.alice);
    expect(await log.json()).toEqual({
      items: [{ sequence: 1, epoch: 0, activity: { id: "x" } }],
      next: null,
    });
    expect(fakeHost.requests.length).toBeGreaterThanOrEqual(3);
    expect(fakeHost.requests.every((request) => request.verifiedAs === `${A}/actor`)).toBe(true);

    expect((await withToken(`/api/v1/channels/log?channel=${remote}`, tokens.erin)).status).toBe(403);
    const unknown = encodeURIComponent("http://c.test/channels/other");
    expect((await withToken(`/api/v1/channels/followers?channel=${unknown}`, tokens.alice)).status).toBe(404);
    // A channel's membership counts only from its own origin, whatever a redirect says.
    const hijacked = encodeURIComponent("http://c.test/channels/hijacked");
    expect((await withToken(`/api/v1/channels/followers?channel=${hijacked}`, tokens.alice)).status).toBe(
      502,
    );
  });

  it("lets the server of a removed member read the followers (not groupInfo or log) during the grace period", async () => {
    const output = await commit(aliceState, cs, { remove: [1] });
    const remove = activity(actors.alice, C, {
      type: "Remove",
      object: actors.bob,
      "mimi:commit": toWireObject(output.commit),
      "mimi:groupInfo": toWireObject(output.groupInfo),
    });
    const removedAt = Date.now();
    expect(await handleToSettled(ctx, inboxItem(channelId, remove))).toEqual({ kind: "ok" });
    expect(await ctx.store.followers(channelId)).toEqual([actors.alice]);

    const path = `${channelPath()}/followers`;
    const followers = await signedGet(path, bServer);
    expect(followers.status).toBe(200);
    expect(await followers.json()).toMatchObject({
      orderedItems: [actors.alice],
      "mimi:roles": { [actors.alice]: "owner" },
    });
    expect((await signedGet(`${channelPath()}/groupInfo`, bServer)).status).toBe(403);
    expect((await signedGet(`${channelPath()}/log`, bServer)).status).toBe(403);
    expect((await signedGet(path, cServer)).status).toBe(403);

    const realNow = ctx.now;
    try {
      ctx.now = () => new Date(removedAt + 590_000);
      expect((await signedGet(path, bServer)).status).toBe(200);
      // MIMI_CHANNEL_REMOVED_READER_GRACE_SECONDS defaults to 600.
      ctx.now = () => new Date(Date.now() + 601_000);
      expect((await signedGet(path, bServer)).status).toBe(403);
    } finally {
      ctx.now = realNow;
    }
  });
});
