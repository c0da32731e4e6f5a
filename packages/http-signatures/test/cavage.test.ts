import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import httpSignature from "http-signature";
import { describe, expect, it } from "vitest";
import {
  checkKeyOwner,
  createRequestSigner,
  type KeyResolver,
  parseCavageSignature,
  type ReceivedRequest,
  signRequest,
  signRequestAsync,
  verifyRequest,
} from "../src/index.js";
import {
  mastodonPrivateKey,
  mastodonPublicKey,
  mastodonPublicPem,
  mastodonVectors,
} from "./mastodon-vectors.js";

const vectors = mastodonVectors;
const signedAt = new Date(vectors.date);

function staticKeys(keys: Record<string, { owner: string; publicKey: KeyObject }>): KeyResolver {
  return {
    async resolve(keyId) {
      const key = keys[keyId];
      if (!key) return { ok: false, reason: "keyFetchError", detail: `no key ${keyId}` };
      return { ok: true, key: { keyId, ...key }, fromCache: false };
    },
  };
}

const mastodonKeys = staticKeys({ [vectors.keyId]: { owner: vectors.owner, publicKey: mastodonPublicKey } });

function mastodonSignatureHeader(headers: string, signature: string): string {
  return `keyId="${vectors.keyId}",algorithm="rsa-sha256",headers="${headers}",signature="${signature}"`;
}

function postVector(
  overrides: Partial<Record<string, string>> = {},
  body = vectors.post.body,
): ReceivedRequest {
  return {
    method: "POST",
    path: vectors.post.path,
    headers: {
      host: "remote.example",
      date: vectors.date,
      digest: vectors.post.digest,
      "content-type": vectors.post.contentType,
      "user-agent": "http.rb/5.1.1 (Mastodon/4.3.0; +https://mastodon.example/)",
      signature: mastodonSignatureHeader(
        "(request-target) host date digest content-type",
        vectors.post.signature,
      ),
      ...overrides,
    },
    body: new TextEncoder().encode(body),
  };
}

describe("Mastodon-signed requests (fixtures built with openssl as app/lib/request.rb signs)", () => {
  it("verifies a signed inbox POST", async () => {
    const outcome = await verifyRequest(postVector(), mastodonKeys, { now: signedAt });
    expect(outcome).toEqual({ ok: true, keyId: vectors.keyId, keyOwner: vectors.owner, scheme: "cavage" });
  });

  it("verifies a signed GET covering accept", async () => {
    const outcome = await verifyRequest(
      {
        method: "GET",
        path: vectors.get.path,
        headers: {
          host: "remote.example",
          date: vectors.date,
          accept: vectors.get.accept,
          signature: mastodonSignatureHeader("(request-target) host date accept", vectors.get.signature),
        },
      },
      mastodonKeys,
      { now: signedAt },
    );
    expect(outcome.ok).toBe(true);
  });

  it("accepts the older form whose (request-target) omits the query string", async () => {
    const outcome = await verifyRequest(
      {
        method: "GET",
        path: vectors.getWithQueryUnsigned.path,
        headers: {
          host: "remote.example",
          date: vectors.date,
          accept: vectors.getWithQueryUnsigned.accept,
          signature: mastodonSignatureHeader(
            "(request-target) host date accept",
            vectors.getWithQueryUnsigned.signature,
          ),
        },
      },
      mastodonKeys,
      { now: signedAt },
    );
    expect(outcome.ok).toBe(true);
  });

  it("signRequest reproduces Mastodon's POST headers byte for byte", () => {
    const headers = signRequest(
      {
        method: "POST",
        url: vectors.post.url,
        headers: { "Content-Type": vectors.post.contentType },
        body: vectors.post.body,
      },
      { keyId: vectors.keyId, privateKey: mastodonPrivateKey },
      { now: signedAt },
    );
    expect(headers).toEqual({
      host: "remote.example",
      date: vectors.date,
      digest: vectors.post.digest,
      "content-type": vectors.post.contentType,
      signature: mastodonSignatureHeader(
        "(request-target) host date digest content-type",
        vectors.post.signature,
      ),
    });
  });

  it("signRequestAsync gives exactly the headers signRequest gives (RSA and Ed25519)", async () => {
    const request = {
      method: "POST",
      url: vectors.post.url,
      headers: { "Content-Type": vectors.post.contentType },
      body: vectors.post.body,
    };
    const rsa = { keyId: vectors.keyId, privateKey: mastodonPrivateKey };
    expect(await signRequestAsync(request, rsa, { now: signedAt })).toEqual(
      signRequest(request, rsa, { now: signedAt }),
    );
    const ed = {
      keyId: "https://ed.example/users/carol#main-key",
      privateKey: generateKeyPairSync("ed25519").privateKey,
    };
    expect(await signRequestAsync(request, ed, { now: signedAt })).toEqual(
      signRequest(request, ed, { now: signedAt }),
    );
    const p256 = { keyId: "k", privateKey: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey };
    expect(() => signRequestAsync(request, p256)).toThrow(/RSA or Ed25519/);
  });

  it("createRequestSigner signs many requests at once with the same headers as signRequest", async () => {
    const signer = createRequestSigner({ threads: 2 });
    const rsa = { keyId: vectors.keyId, privateKey: mastodonPrivateKey };
    const ed = {
      keyId: "https://ed.example/users/carol#main-key",
      privateKey: generateKeyPairSync("ed25519").privateKey,
    };
    // RSA's deterministic PKCS#1 v1.5 signatures show the signing threads sign as the original key.
    const requests = Array.from({ length: 10 }, (_, i) => ({
      method: "POST",
      url: `https://b.example/inbox/${i}`,
      headers: { "Content-Type": vectors.post.contentType },
      body: `${vectors.post.body}${i}`,
    }));
    for (const key of [rsa, ed]) {
      const signed = await Promise.all(
        requests.map((request) => signer.sign(request, key, { now: signedAt })),
      );
      expect(signed).toEqual(requests.map((request) => signRequest(request, key, { now: signedAt })));
    }
    await signer.close();
  });

  it("signRequest reproduces Mastodon's GET headers byte for byte", () => {
    const headers = signRequest(
      { method: "GET", url: vectors.get.url, headers: { accept: vectors.get.accept } },
      { keyId: vectors.keyId, privateKey: mastodonPrivateKey },
      { now: signedAt },
    );
    expect(headers.signature).toBe(
      mastodonSignatureHeader("(request-target) host date accept", vectors.get.signature),
    );
    expect(headers.digest).toBeUndefined();
  });

  it("signs the query string into (request-target)", () => {
    const headers = signRequest(
      { method: "GET", url: "https://remote.example/users/bob/outbox?page=true", headers: {} },
      { keyId: vectors.keyId, privateKey: mastodonPrivateKey },
      { now: signedAt },
    );
    const expected = sign(
      "sha256",
      Buffer.from(
        `(request-target): get /users/bob/outbox?page=true\nhost: remote.example\ndate: ${vectors.date}`,
      ),
      mastodonPrivateKey,
    ).toString("base64");
    expect(headers.signature).toBe(mastodonSignatureHeader("(request-target) host date", expected));
  });

  it("is accepted by an independent implementation (joyent http-signature)", () => {
    const now = new Date();
    const headers = signRequest(
      {
        method: "POST",
        url: "https://remote.example/inbox",
        headers: { "content-type": "application/activity+json" },
        body: "{}",
      },
      { keyId: vectors.keyId, privateKey: mastodonPrivateKey },
      { now },
    );
    const parsed = httpSignature.parseRequest({ method: "POST", url: "/inbox", httpVersion: "1.1", headers });
    expect(parsed.params.headers).toEqual(["(request-target)", "host", "date", "digest", "content-type"]);
    expect(httpSignature.verifySignature(parsed, mastodonPublicPem)).toBe(true);
  });
});

describe("Ed25519 keys (hs2019)", () => {
  const pair = generateKeyPairSync("ed25519");
  const keyId = "https://ed.example/users/carol#main-key";
  const keys = staticKeys({
    [keyId]: { owner: "https://ed.example/users/carol", publicKey: pair.publicKey },
  });

  it("signs as hs2019 and verifies", async () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const headers = signRequest(
      {
        method: "POST",
        url: "https://remote.example/inbox",
        headers: { "content-type": "application/activity+json" },
        body: "{}",
      },
      { keyId, privateKey: pair.privateKey },
      { now },
    );
    expect(parseCavageSignature(headers.signature ?? "")).toMatchObject({
      ok: true,
      params: { algorithm: "hs2019" },
    });
    const outcome = await verifyRequest(
      { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode("{}") },
      keys,
      { now },
    );
    expect(outcome).toMatchObject({ ok: true, keyOwner: "https://ed.example/users/carol" });
  });

  it("accepts hs2019 with a signed (created) instead of Date", async () => {
    const createdSeconds = 1735689600;
    const signingString = `(request-target): get /users/bob\nhost: remote.example\n(created): ${createdSeconds}`;
    const signature = sign(null, Buffer.from(signingString), pair.privateKey).toString("base64");
    const outcome = await verifyRequest(
      {
        method: "GET",
        path: "/users/bob",
        headers: {
          host: "remote.example",
          signature: `keyId="${keyId}",algorithm="hs2019",created=${createdSeconds},headers="(request-target) host (created)",signature="${signature}"`,
        },
      },
      keys,
      { now: new Date(createdSeconds * 1000 + 60_000) },
    );
    expect(outcome.ok).toBe(true);
  });
});

describe("rejections (draft-cavage)", () => {
  const at = { now: signedAt };

  it("missingSignature", async () => {
    const request = postVector();
    const { signature: _dropped, ...headers } = request.headers;
    expect(await verifyRequest({ ...request, headers }, mastodonKeys, at)).toMatchObject({
      reason: "missingSignature",
    });
  });

  it.each([
    'keyId="x",headers="date"',
    'signature="abc"',
    "garbage",
    'keyId="a",keyId="b",signature="abc"',
    'keyId="a",signature="not base64!"',
  ])("malformedSignature: %s", async (signature) => {
    expect(await verifyRequest(postVector({ signature }), mastodonKeys, at)).toMatchObject({
      reason: "malformedSignature",
    });
  });

  it("malformedSignature when a signed header is absent", async () => {
    const request = postVector({
      signature: mastodonSignatureHeader(
        "(request-target) host date digest x-missing",
        vectors.post.signature,
      ),
    });
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({ reason: "malformedSignature" });
  });

  it("unsupportedAlgorithm", async () => {
    const signature = `keyId="${vectors.keyId}",algorithm="rsa-sha1",headers="(request-target) host date digest",signature="abc="`;
    expect(await verifyRequest(postVector({ signature }), mastodonKeys, at)).toMatchObject({
      reason: "unsupportedAlgorithm",
    });
  });

  it("dateMissing when neither Date nor (created) is signed", async () => {
    const request = postVector({
      signature: mastodonSignatureHeader("(request-target) host digest content-type", vectors.post.signature),
    });
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({ reason: "dateMissing" });
  });

  it("dateMissing when the signed Date does not parse", async () => {
    expect(await verifyRequest(postVector({ date: "yesterday-ish" }), mastodonKeys, at)).toMatchObject({
      reason: "dateMissing",
    });
  });

  it("requestTargetNotSigned", async () => {
    const request = postVector({
      signature: mastodonSignatureHeader("host date digest content-type", vectors.post.signature),
    });
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({
      reason: "requestTargetNotSigned",
    });
  });

  it("requestTargetNotSigned when a GET does not sign Host", async () => {
    const request: ReceivedRequest = {
      method: "GET",
      path: "/users/bob",
      headers: {
        host: "remote.example",
        date: vectors.date,
        signature: mastodonSignatureHeader("(request-target) date", "abc="),
      },
    };
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({
      reason: "requestTargetNotSigned",
    });
  });

  it("missingDigest when a POST does not sign Digest", async () => {
    const request = postVector({
      signature: mastodonSignatureHeader("(request-target) host date content-type", vectors.post.signature),
    });
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({ reason: "missingDigest" });
  });

  it("missingDigest when the signed Digest header is absent", async () => {
    const { digest: _dropped, ...headers } = postVector().headers;
    expect(await verifyRequest({ ...postVector(), headers }, mastodonKeys, at)).toMatchObject({
      reason: "missingDigest",
    });
  });

  it("digestMismatch when the body was changed", async () => {
    const request = postVector({}, vectors.post.body.replace("hi", "bye"));
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({ reason: "digestMismatch" });
  });

  it.each([
    ["more than an hour in the future", -3601],
    ["expired for more than an hour", 5 * 60 + 3601],
  ])("dateOutOfWindow when %s", async (_name, offsetSeconds) => {
    const now = new Date(signedAt.getTime() + offsetSeconds * 1000);
    expect(await verifyRequest(postVector(), mastodonKeys, { now })).toMatchObject({
      reason: "dateOutOfWindow",
    });
  });

  it.each([
    ["an hour early", -3600],
    ["an hour after the default five-minute lifetime", 5 * 60 + 3600],
  ])("within the window when %s", async (_name, offsetSeconds) => {
    const now = new Date(signedAt.getTime() + offsetSeconds * 1000);
    expect((await verifyRequest(postVector(), mastodonKeys, { now })).ok).toBe(true);
  });

  it("honours a narrower clockSkewSeconds", async () => {
    const now = new Date(signedAt.getTime() + 10 * 60 * 1000);
    expect(await verifyRequest(postVector(), mastodonKeys, { now, clockSkewSeconds: 60 })).toMatchObject({
      reason: "dateOutOfWindow",
    });
  });

  it("keyFetchError", async () => {
    expect(await verifyRequest(postVector(), staticKeys({}), at)).toMatchObject({ reason: "keyFetchError" });
  });

  it("invalidSignature when a signed header was altered", async () => {
    const request = postVector({ host: "elsewhere.example" });
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({ reason: "invalidSignature" });
  });

  it("invalidSignature when the path differs", async () => {
    const request = { ...postVector(), path: "/users/mallory/inbox" };
    expect(await verifyRequest(request, mastodonKeys, at)).toMatchObject({ reason: "invalidSignature" });
  });
});

describe("checkKeyOwner", () => {
  it("accepts the activity's own actor and refuses anyone else", async () => {
    const outcome = await verifyRequest(postVector(), mastodonKeys, { now: signedAt });
    if (!outcome.ok) throw new Error(outcome.detail);
    expect(checkKeyOwner(outcome, vectors.owner)).toEqual({ ok: true });
    expect(checkKeyOwner(outcome, "https://mastodon.example/users/mallory")).toMatchObject({
      ok: false,
      reason: "keyOwnerMismatch",
    });
  });
});
