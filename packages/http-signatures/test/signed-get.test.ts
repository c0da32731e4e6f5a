import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSignedGet,
  type InstanceKeySource,
  instanceKeyLoader,
  type KeyResolver,
  type SigningKey,
  signedGetFailureDetail,
  verifyRequest,
} from "../src/index.js";

const instance = generateKeyPairSync("ed25519");
const instanceKey: SigningKey = { keyId: "http://mimi.test/actor#main-key", privateKey: instance.privateKey };
const instanceKeys: KeyResolver = {
  async resolve(keyId) {
    return { ok: true, key: { keyId, owner: "http://mimi.test/actor", publicKey: instance.publicKey } };
  },
};
const signedAt = new Date("2025-03-01T12:00:00Z");

interface Route {
  status: number;
  location?: string;
  body?: string;
}

/** a.test and b.test on one local server, told apart by Host. */
const routes: Record<string, Route> = {
  "a.test/actor": { status: 200, body: JSON.stringify({ id: "http://a.test/actor" }) },
  "a.test/moved": { status: 302, location: "http://b.test/actor" },
  "b.test/actor": { status: 200, body: JSON.stringify({ id: "http://b.test/actor" }) },
  "a.test/accepted": { status: 203, body: "{}" },
  "a.test/html": { status: 200, body: "<html></html>" },
  "a.test/large": { status: 200, body: JSON.stringify({ padding: "x".repeat(2_000) }) },
  "a.test/unauthorized": { status: 401 },
  "a.test/forbidden": { status: 403 },
  "a.test/gone": { status: 410 },
  "a.test/bad-request": { status: 400 },
  "a.test/busy": { status: 429 },
  "a.test/broken": { status: 500 },
  "a.test/to-ftp": { status: 302, location: "ftp://a.test/actor" },
};

let server: Server;
let closedPort: number;
let http: OutboundHttp;
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request);
    const route = routes[`${request.headers.host}${request.url}`] ?? { status: 404 };
    response.statusCode = route.status;
    if (route.location !== undefined) response.setHeader("location", route.location);
    response.end(route.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  http = createOutboundHttp({
    production: false,
    maxResponseBytes: 1_000,
    connectTo: new Map([
      ["a.test", target],
      ["b.test", target],
      ["down.test", `127.0.0.1:${closedPort}`],
    ]),
  });
});

afterAll(async () => {
  await http.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (options: Parameters<typeof createSignedGet>[2] = {}) =>
  createSignedGet(http, async () => instanceKey, { now: () => signedAt, ...options });

async function verified(request: IncomingMessage) {
  return verifyRequest({ method: "GET", path: request.url ?? "", headers: request.headers }, instanceKeys, {
    now: signedAt,
  });
}

describe("createSignedGet", () => {
  it("answers the document and the URL that gave it, each hop signed for its own URL", async () => {
    seen.length = 0;
    expect(await get()("http://a.test/moved")).toEqual({
      kind: "document",
      status: 200,
      document: { id: "http://b.test/actor" },
      url: "http://b.test/actor",
    });
    expect(seen.map((request) => `${request.headers.host}${request.url}`)).toEqual([
      "a.test/moved",
      "b.test/actor",
    ]);
    for (const request of seen) {
      expect(request.headers.accept).toBe("application/activity+json");
      expect(await verified(request)).toMatchObject({ ok: true, keyOwner: "http://mimi.test/actor" });
    }
  });

  it("counts any 2xx with JSON as a document and says which", async () => {
    expect(await get()("http://a.test/accepted")).toMatchObject({ kind: "document", status: 203 });
  });

  it("signs the Accept it is given", async () => {
    seen.length = 0;
    const accept = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"';
    expect(await get({ accept })("http://a.test/actor")).toMatchObject({ kind: "document" });
    expect(seen[0]?.headers.accept).toBe(accept);
    expect(seen[0]?.headers.signature).toContain('headers="(request-target) host date accept"');
    expect(await verified(seen[0] as IncomingMessage)).toMatchObject({ ok: true });
  });

  it.each([
    ["unauthorized", 401, true],
    ["forbidden", 403, true],
    ["nowhere", 404, true],
    ["gone", 410, true],
    ["bad-request", 400, false],
    ["busy", 429, false],
    ["broken", 500, false],
  ])("answers /%s with its status %i, permanent: %s", async (path, status, permanent) => {
    const url = `http://a.test/${path}`;
    const result = await get()(url);
    expect(result).toEqual({ kind: "status", status, permanent, url });
    expect(result.kind !== "document" && signedGetFailureDetail(result)).toBe(`HTTP ${status} from ${url}`);
  });

  it.each([
    [
      "a body that is not JSON",
      "http://a.test/html",
      "notJson",
      /^invalid JSON from http:\/\/a\.test\/html: /,
    ],
    ["a body over outbound-http's cap", "http://a.test/large", "tooLarge", /^tooLarge: /],
    ["a refused connection", "http://down.test/actor", "connectError", /^connectError: /],
  ])("fails, for now, on %s", async (_name, url, reason, detail) => {
    const result = await get()(url);
    expect(result).toEqual({ kind: "failed", reason, detail: expect.stringMatching(detail) });
    expect(result.kind !== "document" && signedGetFailureDetail(result)).toMatch(detail);
  });

  it("reports what the address policy refuses as blocked, redirects included", async () => {
    const production = createOutboundHttp({ production: true });
    try {
      const signed = createSignedGet(production, async () => instanceKey);
      expect(await signed("http://127.0.0.1:9/actor")).toEqual({
        kind: "blocked",
        detail: expect.stringMatching(/^blockedAddress: 127\.0\.0\.1 is loopback/),
      });
    } finally {
      await production.close();
    }
    expect(await get()("http://a.test/to-ftp")).toEqual({
      kind: "blocked",
      detail: expect.stringMatching(/^badUrl: /),
    });
  });

  it("fails, for now, when the key cannot be had or cannot sign", async () => {
    const noKey = createSignedGet(http, async () => {
      throw new Error("database down");
    });
    expect(await noKey("http://a.test/actor")).toEqual({
      kind: "failed",
      reason: "signingKey",
      detail: "cannot sign the GET: database down",
    });
    const ecKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const unusable = createSignedGet(http, async () => ({ keyId: "k", privateKey: ecKey.privateKey }));
    expect(await unusable("http://a.test/actor")).toMatchObject({
      kind: "failed",
      reason: "signingKey",
      detail: expect.stringMatching(/RSA or Ed25519/),
    });
  });
});

describe("instanceKeyLoader", () => {
  function keySource(answers: Array<SigningKey | undefined | Error>) {
    const calls: string[] = [];
    const source: InstanceKeySource = {
      async ensure(actorId) {
        calls.push(`ensure ${actorId}`);
      },
      async signingKey(actorId) {
        calls.push(`signingKey ${actorId}`);
        const answer = answers.shift();
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
    return { calls, source };
  }

  it("loads the key once, after making sure it exists, for concurrent and later calls", async () => {
    const { calls, source } = keySource([instanceKey]);
    const load = instanceKeyLoader(source, "http://mimi.test/actor");
    expect(await Promise.all([load(), load()])).toEqual([instanceKey, instanceKey]);
    expect(await load()).toBe(instanceKey);
    expect(calls).toEqual(["ensure http://mimi.test/actor", "signingKey http://mimi.test/actor"]);
  });

  it("tries again after a failed or empty load", async () => {
    const { calls, source } = keySource([new Error("database down"), undefined, instanceKey]);
    const load = instanceKeyLoader(source, "http://mimi.test/actor");
    await expect(load()).rejects.toThrow("database down");
    await expect(load()).rejects.toThrow("the instance actor http://mimi.test/actor has no signing key");
    expect(await load()).toBe(instanceKey);
    expect(calls.filter((call) => call.startsWith("signingKey"))).toHaveLength(3);
  });

  it("gives createSignedGet a key that a failed load does not keep from the next GET", async () => {
    const { source } = keySource([new Error("database down"), instanceKey]);
    const signed = createSignedGet(http, instanceKeyLoader(source, "http://mimi.test/actor"));
    expect(await signed("http://a.test/actor")).toMatchObject({ kind: "failed", reason: "signingKey" });
    expect(await signed("http://a.test/actor")).toMatchObject({ kind: "document" });
  });
});
