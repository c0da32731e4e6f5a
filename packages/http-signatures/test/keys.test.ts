import { generateKeyPairSync, sign } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createOutboundHttp } from "@mimi/outbound-http";
import { describe, expect, it } from "vitest";
import {
  buildRfc9421SignatureBase,
  contentDigestHeaderFor,
  createCachingKeyResolver,
  createSignedKeyFetcher,
  type KeyDocumentFetcher,
  type KeyResolver,
  parseDictionary,
  parseKeyDocument,
  type ReceivedRequest,
  signRequest,
  verifyRequest,
} from "../src/index.js";

const actorId = "https://social.example/users/alice";
const keyId = `${actorId}#main-key`;

function rsaPair() {
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

function pemOf(pair: ReturnType<typeof rsaPair>): string {
  return pair.publicKey.export({ type: "spki", format: "pem" }).toString();
}

// One RSA key pair for the tests that only need some valid key (RSA generation is slow).
const sharedPair = rsaPair();
const sharedPem = pemOf(sharedPair);

function actorDocument(publicKeyPem: string, id = keyId) {
  return { id: actorId, type: "Person", publicKey: { id, owner: actorId, publicKeyPem } };
}

describe("parseKeyDocument", () => {
  const pem = sharedPem;

  it("reads an actor's publicKey", () => {
    const parsed = parseKeyDocument(actorDocument(pem), keyId, actorId);
    expect(parsed.ok && parsed.key.owner).toBe(actorId);
    expect(parsed.ok && parsed.key.publicKey.asymmetricKeyType).toBe("rsa");
  });

  it("finds the key in a publicKey array", () => {
    const document = {
      id: actorId,
      publicKey: [
        { id: `${actorId}#other`, owner: actorId, publicKeyPem: pem },
        { id: keyId, owner: actorId, publicKeyPem: pem },
      ],
    };
    expect(parseKeyDocument(document, keyId, actorId).ok).toBe(true);
  });

  it("reads a bare key document on the owner's origin", () => {
    const bareKeyId = "https://social.example/keys/1";
    expect(
      parseKeyDocument({ id: bareKeyId, owner: actorId, publicKeyPem: pem }, bareKeyId, bareKeyId),
    ).toMatchObject({
      ok: true,
      key: { owner: actorId },
    });
  });

  it.each([
    ["a key id the actor does not list", actorDocument(pem, `${actorId}#other`), /lists no key/],
    [
      "a key owned by someone else",
      {
        id: actorId,
        publicKey: { id: keyId, owner: "https://social.example/users/mallory", publicKeyPem: pem },
      },
      /owned by/,
    ],
    [
      "a bare key claiming an owner on another origin",
      { id: keyId, owner: "https://elsewhere.example/users/alice", publicKeyPem: pem },
      /another origin/,
    ],
    [
      "a PEM that does not parse",
      actorDocument("-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----"),
      /does not parse/,
    ],
    ["a non-object", ["nope"], /not a JSON object/],
  ])("refuses %s", (_name, document, detail) => {
    const parsed = parseKeyDocument(document, keyId, actorId);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok === false && parsed.detail).toMatch(detail);
  });
});

describe("createCachingKeyResolver", () => {
  function countingFetcher(documents: () => unknown) {
    const fetched: string[] = [];
    const fetcher: KeyDocumentFetcher = async (url) => {
      fetched.push(url);
      return { ok: true, document: documents(), url };
    };
    return { fetched, fetcher };
  }

  it("fetches the key id without its fragment and caches the parsed key", async () => {
    const pem = sharedPem;
    const { fetched, fetcher } = countingFetcher(() => actorDocument(pem));
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    const first = await resolver.resolve(keyId, { refresh: false });
    const second = await resolver.resolve(keyId, { refresh: false });
    expect(fetched).toEqual([actorId]);
    expect(first).toMatchObject({ ok: true, fromCache: false });
    expect(second).toMatchObject({ ok: true, fromCache: true });
    expect(first.ok && second.ok && first.key.publicKey === second.key.publicKey).toBe(true);
  });

  it("forgets the keys of a deleted owner: the next lookup fetches again", async () => {
    const pem = sharedPem;
    const { fetched, fetcher } = countingFetcher(() => actorDocument(pem));
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    await resolver.resolve(keyId, { refresh: false });
    expect(resolver.forgetOwner("https://elsewhere.example/users/someone")).toBe(0);
    expect(resolver.size).toBe(1);
    expect(resolver.forgetOwner(actorId)).toBe(1);
    expect(resolver.size).toBe(0);
    expect(await resolver.resolve(keyId, { refresh: false })).toMatchObject({ ok: true, fromCache: false });
    expect(fetched).toEqual([actorId, actorId]);
  });

  it("shares one fetch between concurrent lookups", async () => {
    const pem = sharedPem;
    const { fetched, fetcher } = countingFetcher(() => actorDocument(pem));
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    await Promise.all([1, 2, 3].map(() => resolver.resolve(keyId, { refresh: false })));
    expect(fetched).toHaveLength(1);
  });

  it("expires entries after the TTL", async () => {
    let now = 0;
    const pem = sharedPem;
    const { fetched, fetcher } = countingFetcher(() => actorDocument(pem));
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher, ttlMs: 1000, now: () => now });
    await resolver.resolve(keyId, { refresh: false });
    now = 999;
    await resolver.resolve(keyId, { refresh: false });
    now = 1000;
    await resolver.resolve(keyId, { refresh: false });
    expect(fetched).toHaveLength(2);
  });

  it("stays within maxEntries, evicting the least recently used key", async () => {
    const pem = sharedPem;
    const fetched: string[] = [];
    const resolver = createCachingKeyResolver({
      maxEntries: 2,
      fetchKeyDocument: async (url) => {
        fetched.push(url);
        return {
          ok: true,
          document: { id: url, publicKey: { id: `${url}#main-key`, owner: url, publicKeyPem: pem } },
          url,
        };
      },
    });
    const id = (name: string) => `https://social.example/users/${name}#main-key`;
    await resolver.resolve(id("a"), { refresh: false });
    await resolver.resolve(id("b"), { refresh: false });
    await resolver.resolve(id("a"), { refresh: false }); // a is now the most recently used
    await resolver.resolve(id("c"), { refresh: false }); // evicts b
    expect(resolver.size).toBe(2);
    await resolver.resolve(id("a"), { refresh: false });
    await resolver.resolve(id("b"), { refresh: false });
    expect(fetched.map((url) => url.split("/").pop())).toEqual(["a", "b", "c", "b"]);
  });

  it("limits how often a refresh really refetches", async () => {
    let now = 0;
    const pem = sharedPem;
    const { fetched, fetcher } = countingFetcher(() => actorDocument(pem));
    const resolver = createCachingKeyResolver({
      fetchKeyDocument: fetcher,
      minRefreshIntervalMs: 1000,
      now: () => now,
    });
    await resolver.resolve(keyId, { refresh: false });
    await resolver.resolve(keyId, { refresh: true });
    expect(fetched).toHaveLength(1);
    now = 1000;
    await resolver.resolve(keyId, { refresh: true });
    expect(fetched).toHaveLength(2);
  });

  it("reports fetch failures, thrown errors and bad key ids as keyFetchError", async () => {
    const failing = createCachingKeyResolver({
      fetchKeyDocument: async () => ({ ok: false, detail: "HTTP 410" }),
    });
    expect(await failing.resolve(keyId, { refresh: false })).toEqual({
      ok: false,
      reason: "keyFetchError",
      detail: "HTTP 410",
    });
    const throwing = createCachingKeyResolver({
      fetchKeyDocument: async () => {
        throw new Error("boom");
      },
    });
    expect(await throwing.resolve(keyId, { refresh: false })).toMatchObject({
      reason: "keyFetchError",
      detail: "boom",
    });
    expect(await throwing.resolve("acct:alice@social.example", { refresh: false })).toMatchObject({
      reason: "keyFetchError",
      detail: /not an http\(s\) URL/,
    });
  });
});

describe("key rotation during verification", () => {
  it("refetches a stale cached key once and then verifies", async () => {
    const oldPair = rsaPair();
    const newPair = rsaPair();
    let published = pemOf(oldPair);
    const fetched: string[] = [];
    let now = 0;
    const resolver = createCachingKeyResolver({
      fetchKeyDocument: async (url) => {
        fetched.push(url);
        return { ok: true, document: actorDocument(published), url };
      },
      now: () => now,
    });
    const signedAt = new Date("2025-03-01T12:00:00Z");
    const request = (privateKey: typeof oldPair.privateKey): ReceivedRequest => {
      const headers = signRequest(
        {
          method: "POST",
          url: "https://remote.example/inbox",
          headers: { "content-type": "application/activity+json" },
          body: "{}",
        },
        { keyId, privateKey },
        { now: signedAt },
      );
      return { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode("{}") };
    };

    expect((await verifyRequest(request(oldPair.privateKey), resolver, { now: signedAt })).ok).toBe(true);
    // The sender rotates its key; our cached copy is now stale.
    published = pemOf(newPair);
    now = 60_000;
    expect((await verifyRequest(request(newPair.privateKey), resolver, { now: signedAt })).ok).toBe(true);
    expect(fetched).toHaveLength(2);
    // A forged signature costs one refetch at most, and only after the refresh interval.
    const forged = rsaPair();
    expect(await verifyRequest(request(forged.privateKey), resolver, { now: signedAt })).toMatchObject({
      reason: "invalidSignature",
    });
    expect(fetched).toHaveLength(2);
  });

  it("does not refetch a key it has just fetched", async () => {
    const pair = generateKeyPairSync("ed25519");
    let fetches = 0;
    const keys: KeyResolver = {
      async resolve() {
        fetches++;
        return { ok: true, key: { keyId, owner: actorId, publicKey: pair.publicKey }, fromCache: false };
      },
    };
    const other = sharedPair;
    const headers = signRequest(
      { method: "GET", url: "https://remote.example/users/bob", headers: {} },
      { keyId, privateKey: other.privateKey },
      { now: new Date("2025-03-01T12:00:00Z") },
    );
    const outcome = await verifyRequest({ method: "GET", path: "/users/bob", headers }, keys, {
      now: new Date("2025-03-01T12:00:00Z"),
    });
    expect(outcome).toMatchObject({ reason: "invalidSignature" });
    expect(fetches).toBe(1);
  });
});

describe("RFC 9421 rejections", () => {
  const pair = generateKeyPairSync("ed25519");
  const keys: KeyResolver = {
    async resolve(id) {
      return { ok: true, key: { keyId: id, owner: actorId, publicKey: pair.publicKey }, fromCache: false };
    },
  };
  const createdSeconds = 1740830400;
  const now = new Date(createdSeconds * 1000);
  const body = '{"type":"Create"}';

  function signed(input: string, extraHeaders: Record<string, string> = {}): ReceivedRequest {
    const headers = {
      host: "remote.example",
      "content-digest": contentDigestHeaderFor(body),
      "content-type": "application/activity+json",
      "signature-input": `sig1=${input}`,
      ...extraHeaders,
    };
    const request = { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode(body) };
    const member = parseDictionary(headers["signature-input"]).get("sig1");
    if (member?.kind !== "innerList") throw new Error("bad input");
    const base = buildRfc9421SignatureBase(member, request, { scheme: "https" });
    if (!base.ok) throw new Error(base.detail);
    const signature = sign(null, Buffer.from(base.base), pair.privateKey).toString("base64");
    return { ...request, headers: { ...headers, signature: `sig1=:${signature}:` } };
  }

  const goodInput = `("@method" "@target-uri" "content-digest" "content-type");created=${createdSeconds};keyid="${keyId}"`;

  it("accepts a well-formed Ed25519 signature", async () => {
    expect(await verifyRequest(signed(goodInput), keys, { now })).toEqual({
      ok: true,
      keyId,
      keyOwner: actorId,
      scheme: "rfc9421",
    });
  });

  it("binds @target-uri to the scheme the request arrived with", async () => {
    expect(await verifyRequest(signed(goodInput), keys, { now, scheme: "http" })).toMatchObject({
      reason: "invalidSignature",
    });
  });

  it("missingSignature when Signature is absent", async () => {
    const { signature: _dropped, ...headers } = signed(goodInput).headers;
    expect(await verifyRequest({ ...signed(goodInput), headers }, keys, { now })).toMatchObject({
      reason: "missingSignature",
    });
  });

  it("malformedSignature for an unparseable Signature-Input", async () => {
    const request = signed(goodInput);
    expect(
      await verifyRequest(
        { ...request, headers: { ...request.headers, "signature-input": "sig1=(unclosed" } },
        keys,
        { now },
      ),
    ).toMatchObject({ reason: "malformedSignature" });
  });

  it("malformedSignature without keyid", async () => {
    const input = `("@method" "@target-uri" "content-digest");created=${createdSeconds}`;
    expect(await verifyRequest(signed(input), keys, { now })).toMatchObject({ reason: "malformedSignature" });
  });

  it("unsupportedAlgorithm for hmac-sha256", async () => {
    const input = `("@method" "@target-uri" "content-digest");created=${createdSeconds};keyid="${keyId}";alg="hmac-sha256"`;
    expect(await verifyRequest(signed(input), keys, { now })).toMatchObject({
      reason: "unsupportedAlgorithm",
    });
  });

  it("dateMissing without created", async () => {
    const input = `("@method" "@target-uri" "content-digest");keyid="${keyId}"`;
    expect(await verifyRequest(signed(input), keys, { now })).toMatchObject({ reason: "dateMissing" });
  });

  it("dateOutOfWindow past the signer's expires", async () => {
    const input = `("@method" "@target-uri" "content-digest");created=${createdSeconds};expires=${createdSeconds + 10};keyid="${keyId}"`;
    const later = new Date((createdSeconds + 10 + 3601) * 1000);
    expect(await verifyRequest(signed(input), keys, { now: later })).toMatchObject({
      reason: "dateOutOfWindow",
    });
  });

  it("requestTargetNotSigned without @method", async () => {
    const input = `("@target-uri" "content-digest");created=${createdSeconds};keyid="${keyId}"`;
    expect(await verifyRequest(signed(input), keys, { now })).toMatchObject({
      reason: "requestTargetNotSigned",
    });
  });

  it("missingDigest when a POST does not cover Content-Digest", async () => {
    const input = `("@method" "@target-uri" "content-type");created=${createdSeconds};keyid="${keyId}"`;
    expect(await verifyRequest(signed(input), keys, { now })).toMatchObject({ reason: "missingDigest" });
  });

  it("digestMismatch when Content-Digest does not match the body", async () => {
    const request = signed(goodInput, { "content-digest": contentDigestHeaderFor("{}") });
    expect(await verifyRequest(request, keys, { now })).toMatchObject({ reason: "digestMismatch" });
  });

  it("missingDigest when Content-Digest offers no supported algorithm", async () => {
    const request = signed(goodInput, { "content-digest": "md5=:AAAA:" });
    expect(await verifyRequest(request, keys, { now })).toMatchObject({ reason: "missingDigest" });
  });

  it("invalidSignature when a covered header changed after signing", async () => {
    const request = signed(goodInput);
    const tampered = { ...request, headers: { ...request.headers, "content-type": "text/plain" } };
    expect(await verifyRequest(tampered, keys, { now })).toMatchObject({ reason: "invalidSignature" });
  });
});

describe("createSignedKeyFetcher", () => {
  it("fetches the key document with a signed GET the server can verify", async () => {
    const instance = rsaPair();
    const instanceKeyId = "https://mimi.test/actor#main-key";
    const target = rsaPair();
    const aliceUrl = "http://social.example/users/alice";
    const httpKeyId = `${aliceUrl}#main-key`;
    const document = {
      id: aliceUrl,
      publicKey: { id: httpKeyId, owner: aliceUrl, publicKeyPem: pemOf(target) },
    };
    const seen: IncomingMessage[] = [];
    const server = createServer((request, response) => {
      seen.push(request);
      response.setHeader("content-type", "application/activity+json");
      response.end(JSON.stringify(document));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const http = createOutboundHttp({
      production: false,
      connectTo: new Map([["social.example", `127.0.0.1:${port}`]]),
    });
    try {
      const now = new Date("2025-03-01T12:00:00Z");
      const fetcher = createSignedKeyFetcher(
        http,
        { keyId: instanceKeyId, privateKey: instance.privateKey },
        { now: () => now },
      );
      const fetched = await fetcher(aliceUrl);
      expect(fetched).toEqual({ ok: true, document, url: aliceUrl });
      expect(fetched.ok && parseKeyDocument(fetched.document, httpKeyId, fetched.url).ok).toBe(true);
      const received = seen[0];
      if (!received) throw new Error("no request seen");
      expect(received.headers.accept).toBe("application/activity+json");
      const instanceKeys: KeyResolver = {
        async resolve(id) {
          return {
            ok: true,
            key: { keyId: id, owner: "https://mimi.test/actor", publicKey: instance.publicKey },
          };
        },
      };
      const outcome = await verifyRequest(
        { method: "GET", path: received.url ?? "", headers: received.headers },
        instanceKeys,
        { now },
      );
      expect(outcome).toMatchObject({ ok: true, keyOwner: "https://mimi.test/actor" });
    } finally {
      await http.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("reports refused addresses as fetch failures", async () => {
    const instance = sharedPair;
    const http = createOutboundHttp({ production: true });
    try {
      const fetcher = createSignedKeyFetcher(http, {
        keyId: "https://mimi.test/actor#main-key",
        privateKey: instance.privateKey,
      });
      const result = await fetcher("http://127.0.0.1:9/users/alice");
      expect(result).toMatchObject({ ok: false, detail: /blockedAddress/ });
    } finally {
      await http.close();
    }
  });
});
