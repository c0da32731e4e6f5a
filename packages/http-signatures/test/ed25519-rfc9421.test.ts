import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createCachingKeyResolver,
  createRequestSigner,
  ed25519PublicKeyMultibase,
  importEd25519Multibase,
  type KeyDocumentFetcher,
  parseKeyDocument,
  type SigningKey,
  signRequest,
  verifyRequest,
} from "../src/index.js";
import { base58btcDecode, base58btcEncode } from "../src/multikey.js";

const BOB = "https://b.test/users/bob";
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const bobKey: SigningKey = {
  keyId: `${BOB}#main-key`,
  privateKey: rsa.privateKey,
  ed25519: { keyId: `${BOB}#ed25519-key`, privateKey: ed.privateKey },
};

function multikey(id: string, controller: string, publicKey: KeyObject) {
  return { id, type: "Multikey", controller, publicKeyMultibase: ed25519PublicKeyMultibase(publicKey) };
}

/** Bob's actor document as this provider serves it: RSA `publicKey`, Ed25519 `assertionMethod`. */
function bobDocument(edPublic: KeyObject = ed.publicKey) {
  return {
    id: BOB,
    type: "Person",
    inbox: `${BOB}/inbox`,
    publicKey: {
      id: `${BOB}#main-key`,
      owner: BOB,
      publicKeyPem: rsa.publicKey.export({ type: "spki", format: "pem" }),
    },
    assertionMethod: [multikey(`${BOB}#ed25519-key`, BOB, edPublic)],
  };
}

function resolverServing(documents: Record<string, unknown>) {
  const fetched: string[] = [];
  const fetchKeyDocument: KeyDocumentFetcher = async (url) => {
    fetched.push(url);
    const document = documents[url];
    return document === undefined ? { ok: false, detail: `404 ${url}` } : { ok: true, document, url };
  };
  return { resolver: createCachingKeyResolver({ fetchKeyDocument }), fetched };
}

const body = JSON.stringify({ type: "Create", actor: BOB });
const signedAt = new Date("2026-12-02T10:00:00Z");

function signedPost(path = "/users/alice/inbox") {
  const headers = signRequest(
    {
      method: "POST",
      url: `https://a.test${path}`,
      headers: { "content-type": "application/activity+json" },
      body,
    },
    bobKey,
    { now: signedAt, scheme: "rfc9421" },
  );
  return { method: "POST", path, headers, body: new TextEncoder().encode(body) };
}

describe("FEP-521a Multikey (publicKeyMultibase)", () => {
  it("base58btc matches the reference vectors, leading zeros included", () => {
    expect(base58btcEncode(new TextEncoder().encode("Hello World!"))).toBe("2NEpo7TZRRrLZSi2U");
    expect(base58btcEncode(Uint8Array.of(0, 0, 0x28, 0x7f, 0xb4, 0xcd))).toBe("11233QC4");
    expect(Array.from(base58btcDecode("11233QC4") ?? [])).toEqual([0, 0, 0x28, 0x7f, 0xb4, 0xcd]);
    expect(base58btcDecode("0OIl")).toBeUndefined();
  });

  it("round-trips an Ed25519 key as z6Mk...", () => {
    const multibase = ed25519PublicKeyMultibase(ed.privateKey);
    expect(multibase).toMatch(/^z6Mk/);
    const imported = importEd25519Multibase(multibase);
    expect(typeof imported).not.toBe("string");
    const exported = (imported as KeyObject).export({ type: "spki", format: "der" });
    expect(Buffer.compare(exported, ed.publicKey.export({ type: "spki", format: "der" }))).toBe(0);
  });

  it("refuses what is not a 32-byte Ed25519 multikey", () => {
    const raw = Buffer.from(ed.publicKey.export({ format: "jwk" }).x ?? "", "base64url");
    expect(
      importEd25519Multibase(`z${base58btcEncode(Buffer.concat([Buffer.of(0x12, 0x05), raw]))}`),
    ).toMatch(/not an Ed25519 key/);
    expect(
      importEd25519Multibase(`z${base58btcEncode(Buffer.concat([Buffer.of(0xed, 0x01), raw, raw]))}`),
    ).toMatch(/not 32/);
    expect(importEd25519Multibase(`m${raw.toString("base64")}`)).toMatch(/base58btc/);
    expect(importEd25519Multibase(`z${"2".repeat(500)}`)).toMatch(/too long/);
    expect(importEd25519Multibase(undefined)).toMatch(/missing/);
  });
});

describe("key documents with assertionMethod", () => {
  it("finds the Ed25519 key by its id, owned by the actor", () => {
    const parsed = parseKeyDocument(bobDocument(), `${BOB}#ed25519-key`, BOB);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.key.owner).toBe(BOB);
      expect(parsed.key.publicKey.asymmetricKeyType).toBe("ed25519");
    }
    // The RSA key is still found under publicKey.
    const main = parseKeyDocument(bobDocument(), `${BOB}#main-key`, BOB);
    expect(main.ok && main.key.publicKey.asymmetricKeyType).toBe("rsa");
  });

  it("refuses a Multikey whose controller is another actor than the document", () => {
    const document = {
      ...bobDocument(),
      assertionMethod: multikey(`${BOB}#ed25519-key`, "https://b.test/users/carol", ed.publicKey),
    };
    const parsed = parseKeyDocument(document, `${BOB}#ed25519-key`, BOB);
    expect(parsed).toMatchObject({ ok: false, detail: expect.stringMatching(/owned by .*carol/) });
  });

  it("refuses an Ed25519 key of origin X claimed for an actor of origin Y", () => {
    // evil.test lists a key id on b.test in its own actor: fetched from evil.test, it vouches for nothing.
    const evil = {
      id: "https://evil.test/users/mallory",
      assertionMethod: multikey(`${BOB}#ed25519-key`, "https://evil.test/users/mallory", ed.publicKey),
    };
    expect(parseKeyDocument(evil, `${BOB}#ed25519-key`, "https://evil.test/users/mallory")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/another origin than the key's/),
    });
    // A bare Multikey on evil.test naming bob (on b.test) as its controller.
    const bare = multikey("https://evil.test/keys/1", BOB, ed.publicKey);
    expect(parseKeyDocument(bare, "https://evil.test/keys/1", "https://evil.test/keys/1")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/on another origin/),
    });
    // b.test's actor naming a Multikey controlled by evil.test.
    const claimed = {
      ...bobDocument(),
      assertionMethod: multikey(`${BOB}#ed25519-key`, "https://evil.test/users/mallory", ed.publicKey),
    };
    expect(parseKeyDocument(claimed, `${BOB}#ed25519-key`, BOB).ok).toBe(false);
  });

  it("accepts a bare Multikey document on its controller's origin", () => {
    const bare = multikey("https://b.test/keys/ed", BOB, ed.publicKey);
    const parsed = parseKeyDocument(bare, "https://b.test/keys/ed", "https://b.test/keys/ed");
    expect(parsed.ok && parsed.key.owner).toBe(BOB);
  });

  it("refuses an assertionMethod entry that is not a Multikey", () => {
    const document = {
      ...bobDocument(),
      assertionMethod: { id: `${BOB}#ed25519-key`, type: "JsonWebKey", controller: BOB },
    };
    expect(parseKeyDocument(document, `${BOB}#ed25519-key`, BOB).ok).toBe(false);
  });
});

describe("RFC 9421 with the Ed25519 key", () => {
  it("signs @method, @target-uri, date, content-digest and content-type with alg ed25519", () => {
    const { headers } = signedPost();
    expect(headers["signature-input"]).toBe(
      'sig1=("@method" "@target-uri" "date" "content-digest" "content-type")' +
        `;created=${signedAt.getTime() / 1000};keyid="${BOB}#ed25519-key";alg="ed25519"`,
    );
    expect(headers.signature).toMatch(/^sig1=:[A-Za-z0-9+/]{86}==:$/);
    expect(headers["content-digest"]).toMatch(/^sha-256=:/);
    expect(headers.digest).toBeUndefined();
  });

  it("verifies with the key from assertionMethod; the owner is the actor", async () => {
    const { resolver, fetched } = resolverServing({ [BOB]: bobDocument() });
    const outcome = await verifyRequest(signedPost(), resolver, { now: signedAt });
    expect(outcome).toEqual({ ok: true, keyId: `${BOB}#ed25519-key`, keyOwner: BOB, scheme: "rfc9421" });
    expect(fetched).toEqual([BOB]);
  });

  it("refuses the request with its body, path or method changed", async () => {
    const { resolver } = resolverServing({ [BOB]: bobDocument() });
    const request = signedPost();
    const altered = { ...request, body: new TextEncoder().encode(body.replace("Create", "Delete")) };
    expect(await verifyRequest(altered, resolver, { now: signedAt })).toMatchObject({
      reason: "digestMismatch",
    });
    const elsewhere = { ...request, path: "/users/carol/inbox" };
    expect(await verifyRequest(elsewhere, resolver, { now: signedAt })).toMatchObject({
      reason: "invalidSignature",
    });
    const put = { ...request, method: "PUT" };
    expect(await verifyRequest(put, resolver, { now: signedAt })).toMatchObject({
      reason: "invalidSignature",
    });
  });

  it("refuses a replay after the window and a created moved forward", async () => {
    const { resolver } = resolverServing({ [BOB]: bobDocument() });
    const request = signedPost();
    const later = new Date(signedAt.getTime() + (5 * 60 + 3600 + 1) * 1000);
    expect(await verifyRequest(request, resolver, { now: later })).toMatchObject({
      reason: "dateOutOfWindow",
    });
    const input = String(request.headers["signature-input"]);
    const refreshed = input.replace(/created=\d+/, `created=${later.getTime() / 1000}`);
    const moved = { ...request, headers: { ...request.headers, "signature-input": refreshed } };
    expect(await verifyRequest(moved, resolver, { now: later })).toMatchObject({
      reason: "invalidSignature",
    });
  });

  it("refuses a signature by another Ed25519 key than the one bob publishes", async () => {
    const other = generateKeyPairSync("ed25519");
    const { resolver } = resolverServing({ [BOB]: bobDocument(other.publicKey) });
    expect(await verifyRequest(signedPost(), resolver, { now: signedAt })).toMatchObject({
      reason: "invalidSignature",
    });
  });

  it("a key id on b.test whose document lies on evil.test is refused (keyFetchError)", async () => {
    const evilKey: SigningKey = {
      keyId: "https://evil.test/users/mallory#main-key",
      privateKey: rsa.privateKey,
      ed25519: { keyId: `${BOB}#ed25519-key`, privateKey: ed.privateKey },
    };
    // b.test answers with a redirect to evil.test, whose document claims bob's key id.
    const fetchKeyDocument: KeyDocumentFetcher = async () => ({
      ok: true,
      url: "https://evil.test/users/mallory",
      document: {
        id: "https://evil.test/users/mallory",
        assertionMethod: multikey(`${BOB}#ed25519-key`, "https://evil.test/users/mallory", ed.publicKey),
      },
    });
    const headers = signRequest({ method: "POST", url: "https://a.test/inbox", headers: {}, body }, evilKey, {
      now: signedAt,
      scheme: "rfc9421",
    });
    const outcome = await verifyRequest(
      { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode(body) },
      createCachingKeyResolver({ fetchKeyDocument }),
      { now: signedAt },
    );
    expect(outcome).toMatchObject({ ok: false, reason: "keyFetchError" });
  });

  it("a GET covers accept and the query; an http URL signs @target-uri with http", async () => {
    const headers = signRequest(
      {
        method: "GET",
        url: "http://a.test:8080/channels/c/followers?page=2",
        headers: { accept: "application/activity+json" },
      },
      bobKey,
      { now: signedAt, scheme: "rfc9421" },
    );
    expect(headers["signature-input"]).toMatch(/^sig1=\("@method" "@target-uri" "date" "accept"\)/);
    expect(headers.host).toBe("a.test:8080");
    const { resolver } = resolverServing({ [BOB]: bobDocument() });
    const request = { method: "GET", path: "/channels/c/followers?page=2", headers };
    expect(await verifyRequest(request, resolver, { now: signedAt, scheme: "http" })).toMatchObject({
      ok: true,
    });
    // The same signature presented over https names another target URI.
    expect(await verifyRequest(request, resolver, { now: signedAt, scheme: "https" })).toMatchObject({
      reason: "invalidSignature",
    });
  });

  it("draft-cavage stays the default and uses the RSA key", () => {
    const headers = signRequest({ method: "GET", url: "https://a.test/x", headers: {} }, bobKey, {
      now: signedAt,
    });
    expect(headers.signature).toMatch(
      /^keyId="https:\/\/b.test\/users\/bob#main-key",algorithm="rsa-sha256"/,
    );
    expect(headers["signature-input"]).toBeUndefined();
  });

  it("the request signer gives signRequest's RFC 9421 headers, and its cavage ones on the RSA key", async () => {
    const signer = createRequestSigner({ threads: 1 });
    try {
      const request = {
        method: "POST",
        url: "https://a.test/inbox",
        headers: { "content-type": "application/activity+json" },
        body,
      };
      expect(await signer.sign(request, bobKey, { now: signedAt, scheme: "rfc9421" })).toEqual(
        signRequest(request, bobKey, { now: signedAt, scheme: "rfc9421" }),
      );
      expect(await signer.sign(request, bobKey, { now: signedAt, scheme: "cavage" })).toEqual(
        signRequest(request, bobKey, { now: signedAt }),
      );
    } finally {
      await signer.close();
    }
  });
});
