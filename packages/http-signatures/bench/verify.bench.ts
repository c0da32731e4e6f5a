import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { bench, describe } from "vitest";
import { type KeyResolver, type ReceivedRequest, signRequest, verifyRequest } from "../src/index.js";

// Compares signature checks against a cached KeyObject with re-importing the PEM for every request
// (what a verifier that keeps only PEM strings, such as joyent http-signature, ends up doing).
const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
const publicPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const keyId = "https://social.example/users/alice#main-key";
const owner = "https://social.example/users/alice";
const now = new Date("2025-03-01T12:00:00Z");
const body = JSON.stringify({ type: "Create", actor: owner, object: { type: "Note", content: "hello" } });
const headers = signRequest(
  {
    method: "POST",
    url: "https://remote.example/inbox",
    headers: { "content-type": "application/activity+json" },
    body,
  },
  { keyId, privateKey: pair.privateKey },
  { now },
);
const request: ReceivedRequest = {
  method: "POST",
  path: "/inbox",
  headers,
  body: new TextEncoder().encode(body),
};

const cachedKey = createPublicKey(publicPem);
const cachedResolver: KeyResolver = {
  resolve: async () => ({ ok: true, key: { keyId, owner, publicKey: cachedKey }, fromCache: true }),
};
const reimportingResolver: KeyResolver = {
  resolve: async () => ({
    ok: true,
    key: { keyId, owner, publicKey: createPublicKey(publicPem) },
    fromCache: true,
  }),
};

describe("verifyRequest, RSA-2048 rsa-sha256 inbox POST", () => {
  bench("cached KeyObject", async () => {
    const outcome = await verifyRequest(request, cachedResolver, { now });
    if (!outcome.ok) throw new Error(outcome.detail);
  });

  bench("PEM re-imported per verify", async () => {
    const outcome = await verifyRequest(request, reimportingResolver, { now });
    if (!outcome.ok) throw new Error(outcome.detail);
  });
});
