import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkKeyOwner,
  createCachingKeyResolver,
  createSignedKeyFetcher,
  type KeyDocumentFetcher,
  parseKeyDocument,
  type ReceivedRequest,
  signRequest,
  verifyRequest,
} from "../src/index.js";

// Ed25519 keeps key generation cheap; the rules under test do not depend on the key type.
function keyPair() {
  return generateKeyPairSync("ed25519");
}

function pemOf(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

const bob = keyPair();
const evil = keyPair();
const bobPem = pemOf(bob.publicKey);
const evilPem = pemOf(evil.publicKey);

/** A Mastodon-style actor: the key is `<actor>#main-key`, owned by the actor. */
function actor(id: string, publicKeyPem: string, keyId = `${id}#main-key`, owner = id) {
  return { id, type: "Person", publicKey: { id: keyId, owner, publicKeyPem } };
}

describe("parseKeyDocument binds a key to the origin it was fetched from", () => {
  const bobUrl = "https://b.test/users/bob";
  const bobKeyId = `${bobUrl}#main-key`;

  describe("accepts honest documents", () => {
    it("a Mastodon actor with #main-key, fetched at the actor's URL", () => {
      expect(parseKeyDocument(actor(bobUrl, bobPem), bobKeyId, bobUrl)).toMatchObject({
        ok: true,
        key: { keyId: bobKeyId, owner: bobUrl },
      });
    });

    it("an actor key without an owner (the actor owns it)", () => {
      const document = { id: bobUrl, publicKey: { id: bobKeyId, publicKeyPem: bobPem } };
      expect(parseKeyDocument(document, bobKeyId, bobUrl)).toMatchObject({
        ok: true,
        key: { owner: bobUrl },
      });
    });

    it("an actor reached by a same-origin redirect from the key id", () => {
      const keyId = "https://b.test/users/bob/main-key";
      const document = actor(bobUrl, bobPem, keyId);
      expect(parseKeyDocument(document, keyId, bobUrl)).toMatchObject({ ok: true, key: { owner: bobUrl } });
    });

    it("a bare key document at its own URL, owned by an actor on its origin", () => {
      const keyId = "https://b.test/keys/1";
      const document = { id: keyId, owner: bobUrl, publicKeyPem: bobPem };
      expect(parseKeyDocument(document, keyId, keyId)).toMatchObject({ ok: true, key: { owner: bobUrl } });
    });

    it("a bare key document whose id has a fragment, fetched without it", () => {
      const keyId = "https://b.test/keys#bob";
      const document = { id: keyId, owner: bobUrl, publicKeyPem: bobPem };
      expect(parseKeyDocument(document, keyId, "https://b.test/keys")).toMatchObject({ ok: true });
    });
  });

  describe("refuses", () => {
    it.each([
      [
        "evil.test's own document naming b.test's actor as its id and owner",
        {
          id: "http://b.test/users/bob",
          publicKey: {
            id: "http://evil.test/k#key",
            owner: "http://b.test/users/bob",
            publicKeyPem: evilPem,
          },
        },
        "http://evil.test/k#key",
        "http://evil.test/k",
        /document id http:\/\/b\.test\/users\/bob is not the URL it came from, http:\/\/evil\.test\/k/,
      ],
      [
        "a document whose id is another actor than the URL fetched (same origin)",
        actor("https://b.test/users/carol", bobPem, bobKeyId),
        bobKeyId,
        bobUrl,
        /document id https:\/\/b\.test\/users\/carol is not the URL it came from/,
      ],
      [
        "a redirect to another origin, the document claiming the original URL",
        actor(bobUrl, evilPem),
        bobKeyId,
        "https://evil.test/users/bob",
        /came from https:\/\/evil\.test\/users\/bob, another origin than the key's/,
      ],
      [
        "a redirect to another origin, the document owning the first origin's key",
        actor("https://evil.test/users/bob", evilPem, bobKeyId),
        bobKeyId,
        "https://evil.test/users/bob",
        /another origin than the key's/,
      ],
      [
        "a bare key reached through a redirect to another origin",
        { id: "https://b.test/out?to=https://evil.test/k", owner: bobUrl, publicKeyPem: evilPem },
        "https://b.test/out?to=https://evil.test/k",
        "https://evil.test/k",
        /another origin than the key's/,
      ],
      [
        "a bare key whose id is not the URL that answered (same-origin redirect)",
        { id: "https://b.test/keys/1", owner: bobUrl, publicKeyPem: evilPem },
        "https://b.test/keys/1",
        "https://b.test/keys/2",
        /key document id https:\/\/b\.test\/keys\/1 is not the URL it came from, https:\/\/b\.test\/keys\/2/,
      ],
      [
        "a bare key whose owner is on another origin",
        { id: "https://b.test/keys/1", owner: "https://c.test/users/carol", publicKeyPem: bobPem },
        "https://b.test/keys/1",
        "https://b.test/keys/1",
        /key owner https:\/\/c\.test\/users\/carol is on another origin/,
      ],
      [
        "a key whose owner is not the document",
        actor(bobUrl, bobPem, bobKeyId, "https://b.test/users/mallory"),
        bobKeyId,
        bobUrl,
        /owned by https:\/\/b\.test\/users\/mallory, not by the document/,
      ],
      [
        "an actor whose id carries a fragment",
        actor(`${bobUrl}#me`, bobPem, bobKeyId, `${bobUrl}#me`),
        bobKeyId,
        bobUrl,
        /is not the URL it came from/,
      ],
      [
        "a document without an id",
        { publicKey: { id: bobKeyId, owner: bobUrl, publicKeyPem: bobPem } },
        bobKeyId,
        bobUrl,
        /has no id/,
      ],
      [
        "a key id that is not an http(s) URL",
        actor(bobUrl, bobPem),
        "acct:bob@b.test",
        bobUrl,
        /not an http/,
      ],
      [
        "a fetched URL that is not an http(s) URL",
        actor(bobUrl, bobPem),
        bobKeyId,
        "b.test/users/bob",
        /not an http/,
      ],
    ])("%s", (_name, document, keyId, fetchedUrl, detail) => {
      const parsed = parseKeyDocument(document, keyId, fetchedUrl);
      expect(parsed).toEqual({ ok: false, detail: expect.stringMatching(detail) });
    });
  });
});

describe("createCachingKeyResolver checks the URL the fetcher reports", () => {
  it("refuses a document the fetcher says came from another origin", async () => {
    const fetchKeyDocument: KeyDocumentFetcher = async () => ({
      ok: true,
      document: actor("https://b.test/users/bob", evilPem),
      url: "https://evil.test/users/bob",
    });
    const resolver = createCachingKeyResolver({ fetchKeyDocument });
    expect(await resolver.resolve("https://b.test/users/bob#main-key", { refresh: false })).toEqual({
      ok: false,
      reason: "keyFetchError",
      detail: expect.stringMatching(/another origin/),
    });
    expect(resolver.size).toBe(0);
  });
});

/**
 * Two servers on one local port, told apart by Host: b.test (bob's provider, with an open
 * redirect) and evil.test (a hostile provider with its own key).
 */
describe("signed key fetches from real servers, and verifyRequest", () => {
  const instance = keyPair();
  const routes: Record<string, { status: number; location?: string; json?: unknown }> = {
    "b.test/users/bob": { status: 200, json: actor("http://b.test/users/bob", bobPem) },
    // GoToSocial-style key id: a separate URL that redirects to the actor on the same origin.
    "b.test/users/bob/main-key": { status: 302, location: "/users/bob-keyed" },
    "b.test/users/bob-keyed": {
      status: 200,
      json: actor("http://b.test/users/bob-keyed", bobPem, "http://b.test/users/bob/main-key"),
    },
    "b.test/out?to=evil": { status: 302, location: "http://evil.test/bob-key" },
    "evil.test/k": {
      status: 200,
      json: {
        id: "http://b.test/users/bob",
        type: "Person",
        publicKey: { id: "http://evil.test/k#key", owner: "http://b.test/users/bob", publicKeyPem: evilPem },
      },
    },
    "evil.test/bob-key": {
      status: 200,
      json: { id: "http://b.test/out?to=evil", owner: "http://b.test/users/bob", publicKeyPem: evilPem },
    },
    "evil.test/users/bob": { status: 200, json: actor("http://b.test/users/bob", evilPem) },
    "b.test/moved/bob": { status: 301, location: "http://evil.test/users/bob" },
  };
  let server: Server;
  let http: OutboundHttp;
  let fetcher: KeyDocumentFetcher;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const route = routes[`${request.headers.host}${request.url}`];
      if (route === undefined || request.headers.signature === undefined) {
        response.statusCode = route === undefined ? 404 : 401;
        response.end();
        return;
      }
      response.statusCode = route.status;
      if (route.location !== undefined) response.setHeader("location", route.location);
      response.setHeader("content-type", "application/activity+json");
      response.end(route.json === undefined ? "" : JSON.stringify(route.json));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    http = createOutboundHttp({
      production: false,
      connectTo: new Map([
        ["b.test", target],
        ["evil.test", target],
      ]),
    });
    fetcher = createSignedKeyFetcher(http, {
      keyId: "http://mimi.test/actor#main-key",
      privateKey: instance.privateKey,
    });
  });

  afterAll(async () => {
    await http.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reports the URL that answered after redirects", async () => {
    expect(await fetcher("http://b.test/users/bob/main-key")).toMatchObject({
      ok: true,
      url: "http://b.test/users/bob-keyed",
    });
    expect(await fetcher("http://b.test/out?to=evil")).toMatchObject({
      ok: true,
      url: "http://evil.test/bob-key",
    });
  });

  it.each([
    [
      "a Mastodon-style #main-key on the actor",
      "http://b.test/users/bob#main-key",
      "http://b.test/users/bob",
    ],
    [
      "a key id that redirects to its actor on the same origin",
      "http://b.test/users/bob/main-key",
      "http://b.test/users/bob-keyed",
    ],
  ])("resolves %s", async (_name, keyId, owner) => {
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    expect(await resolver.resolve(keyId, { refresh: false })).toMatchObject({
      ok: true,
      key: { keyId, owner },
    });
  });

  it.each([
    ["evil.test's document naming bob", "http://evil.test/k#key", /is not the URL it came from/],
    [
      "a bare key behind b.test's open redirect",
      "http://b.test/out?to=evil",
      /came from http:\/\/evil\.test\/bob-key/,
    ],
    [
      "bob's key id moved to another origin",
      "http://b.test/moved/bob#main-key",
      /came from http:\/\/evil\.test\/users\/bob, another origin/,
    ],
  ])("refuses %s", async (_name, keyId, detail) => {
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    expect(await resolver.resolve(keyId, { refresh: false })).toEqual({
      ok: false,
      reason: "keyFetchError",
      detail: expect.stringMatching(detail),
    });
  });

  const now = new Date("2025-03-01T12:00:00Z");
  const body = JSON.stringify({ type: "Create", actor: "http://b.test/users/bob" });

  function inboxPost(keyId: string, privateKey: KeyObject): ReceivedRequest {
    const headers = signRequest(
      {
        method: "POST",
        url: "https://mimi.test/inbox",
        headers: { "content-type": "application/activity+json" },
        body,
      },
      { keyId, privateKey },
      { now },
    );
    return { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode(body) };
  }

  it("accepts bob's own signature as bob", async () => {
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    const outcome = await verifyRequest(
      inboxPost("http://b.test/users/bob#main-key", bob.privateKey),
      resolver,
      {
        now,
      },
    );
    expect(outcome).toMatchObject({ ok: true, keyOwner: "http://b.test/users/bob" });
    expect(outcome.ok && checkKeyOwner(outcome, "http://b.test/users/bob")).toEqual({ ok: true });
  });

  it.each([
    ["with its own key document naming bob", "http://evil.test/k#key"],
    ["through b.test's open redirect", "http://b.test/out?to=evil"],
  ])("refuses evil.test's signature as bob %s", async (_name, keyId) => {
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    expect(await verifyRequest(inboxPost(keyId, evil.privateKey), resolver, { now })).toMatchObject({
      ok: false,
      reason: "keyFetchError",
    });
  });
});
