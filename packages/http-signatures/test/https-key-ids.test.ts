import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createCachingKeyResolver,
  type KeyDocumentFetcher,
  signRequest,
  verifyRequest,
} from "../src/index.js";

const pair = generateKeyPairSync("ed25519");
const publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();

/** A key document for `actorId`, served for whatever URL is asked, counting the fetches. */
function recordingFetcher() {
  const fetched: string[] = [];
  const fetcher: KeyDocumentFetcher = async (url) => {
    fetched.push(url);
    return {
      ok: true,
      document: { id: url, publicKey: { id: `${url}#main-key`, owner: url, publicKeyPem } },
      url,
    };
  };
  return { fetched, fetcher };
}

const now = new Date("2026-01-05T10:00:00Z");

function signedGet(keyId: string) {
  const headers = signRequest(
    {
      method: "GET",
      url: "https://b.test/users/bob/outbox",
      headers: { accept: "application/activity+json" },
    },
    { keyId, privateKey: pair.privateKey },
    { now },
  );
  return { method: "GET", path: "/users/bob/outbox", headers };
}

describe("key ids in production", () => {
  it("refuses a plain-http key id before any lookup, with a reason that says so", async () => {
    const { fetched, fetcher } = recordingFetcher();
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher, requireHttpsKeyIds: true });
    for (const keyId of ["http://a.test/users/alice#main-key", "HTTP://a.test/users/alice#main-key"]) {
      const outcome = await verifyRequest(signedGet(keyId), resolver, { now });
      expect(outcome).toEqual({
        ok: false,
        reason: "keyFetchError",
        detail: `keyId ${keyId} is not an https URL; this provider accepts only https key ids`,
      });
    }
    expect(fetched).toEqual([]);
    expect(resolver.size).toBe(0);
  });

  it("still resolves https key ids", async () => {
    const { fetched, fetcher } = recordingFetcher();
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher, requireHttpsKeyIds: true });
    const outcome = await verifyRequest(signedGet("https://a.test/users/alice#main-key"), resolver, { now });
    expect(outcome).toMatchObject({ ok: true, keyOwner: "https://a.test/users/alice" });
    expect(fetched).toEqual(["https://a.test/users/alice"]);
  });

  it("lets a development provider fetch plain-http key ids", async () => {
    const { fetched, fetcher } = recordingFetcher();
    const resolver = createCachingKeyResolver({ fetchKeyDocument: fetcher });
    const outcome = await verifyRequest(signedGet("http://a.test/users/alice#main-key"), resolver, { now });
    expect(outcome).toMatchObject({ ok: true, keyOwner: "http://a.test/users/alice" });
    expect(fetched).toEqual(["http://a.test/users/alice"]);
  });
});
