import { ASSERTION_METHOD_CONTEXTS, ed25519KeyId } from "@mimi/actor-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
  const created = await postJson(`${identity.base}/api/v1/accounts`, {
    username: "alice",
    password: "correct horse",
  });
  expect(created.status).toBe(201);
});
afterAll(() => identity.close());

async function document(path: string) {
  const res = await fetch(`${identity.base}${path}`, { headers: { accept: "application/activity+json" } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("actors publish an Ed25519 key (FEP-521a) beside the RSA key", () => {
  it.each([
    ["the Person", "/users/alice", "http://a.test/users/alice"],
    ["the instance actor", "/actor", "http://a.test/actor"],
  ])("%s lists its Multikey in assertionMethod and keeps publicKey for Mastodon", async (_, path, id) => {
    const served = await document(path);
    const keys = await identity.ctx.actorKeys.ensureKeys(id);
    expect(served.assertionMethod).toEqual([
      {
        id: ed25519KeyId(id),
        type: "Multikey",
        controller: id,
        publicKeyMultibase: keys.ed25519PublicKeyMultibase,
      },
    ]);
    expect(keys.ed25519PublicKeyMultibase).toMatch(/^z6Mk/);
    expect(served.publicKey).toEqual({ id: `${id}#main-key`, owner: id, publicKeyPem: keys.publicKeyPem });
    expect(served["@context"]).toEqual(expect.arrayContaining([...ASSERTION_METHOD_CONTEXTS]));
    // The signing key carries the same Ed25519 key id the document names.
    expect((await identity.ctx.actorKeys.signingKey(id))?.ed25519?.keyId).toBe(ed25519KeyId(id));
  });
});
