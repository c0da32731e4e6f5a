import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { signProofOfPossession, verifyClientCredential } from "@mimi/credentials";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
let auth: Record<string, string>;
let clientId: string;

function ed25519(): { privateKey: KeyObject; publicRaw: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ type: "spki", format: "der" });
  return { privateKey, publicRaw: spki.subarray(spki.length - 32) };
}

async function issuedCount(): Promise<number> {
  return (await identity.sql.query<{ n: number }>("select count(*) as n from identity.issued_credentials"))
    .rows[0]!.n;
}

beforeAll(async () => {
  identity = await startTestIdentity();
  const created = await postJson(`${identity.base}/api/v1/accounts`, {
    username: "alice",
    password: "alice's password",
  });
  auth = { authorization: `Bearer ${String(created.body.token)}` };
  clientId = String((await postJson(`${identity.base}/api/v1/clients`, { name: "laptop" }, auth)).body.id);
});
afterAll(() => identity.close());

async function challenge(forClient = clientId): Promise<string> {
  const res = await postJson(`${identity.base}/api/v1/clients/${forClient}/credential/challenge`, {}, auth);
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ domain: "a.test", user: "alice", clientId: forClient });
  return String(res.body.challenge);
}

describe("credential issuance", () => {
  it("issues an X.509 credential binding the key to acct:alice@a.test after proof of possession", async () => {
    const key = ed25519();
    const nonce = await challenge();
    const signature = signProofOfPossession(key.privateKey, {
      challenge: nonce,
      user: "alice",
      domain: "a.test",
      clientId,
    });
    const res = await postJson(
      `${identity.base}/api/v1/clients/${clientId}/credential`,
      {
        challenge: nonce,
        signaturePublicKey: key.publicRaw.toString("base64"),
        signature: Buffer.from(signature).toString("base64"),
      },
      auth,
    );
    expect(res.status).toBe(201);
    const chain = (res.body.chain as string[]).map((b64) => new Uint8Array(Buffer.from(b64, "base64")));
    expect(chain).toHaveLength(2);
    const config = (await (await fetch(`${identity.base}/.well-known/mimi-configuration`)).json()) as {
      credential_issuers: string[];
    };
    const verified = await verifyClientCredential(chain, key.publicRaw, {
      issuersFor: async (domain) =>
        domain === "a.test"
          ? { ok: true, issuersPem: config.credential_issuers }
          : { ok: false, detail: "unknown" },
    });
    expect(verified).toMatchObject({
      ok: true,
      acct: "acct:alice@a.test",
      clientId,
      user: "alice",
      domain: "a.test",
    });
    expect(await issuedCount()).toBe(1);
  });

  it("refuses a proof made with another key, and the challenge cannot be reused", async () => {
    const before = await issuedCount();
    const claimed = ed25519();
    const actual = ed25519();
    const nonce = await challenge();
    const signature = signProofOfPossession(actual.privateKey, {
      challenge: nonce,
      user: "alice",
      domain: "a.test",
      clientId,
    });
    const body = {
      challenge: nonce,
      signaturePublicKey: claimed.publicRaw.toString("base64"),
      signature: Buffer.from(signature).toString("base64"),
    };
    const bad = await postJson(`${identity.base}/api/v1/clients/${clientId}/credential`, body, auth);
    expect(bad.status).toBe(400);
    expect(bad.type).toMatch(/problem\+json/);
    const goodSignature = signProofOfPossession(claimed.privateKey, {
      challenge: nonce,
      user: "alice",
      domain: "a.test",
      clientId,
    });
    const replay = await postJson(
      `${identity.base}/api/v1/clients/${clientId}/credential`,
      { ...body, signature: Buffer.from(goodSignature).toString("base64") },
      auth,
    );
    expect(replay.status).toBe(400);
    expect(String(replay.body.detail)).toContain("challenge");
    expect(await issuedCount()).toBe(before);
  });

  it("refuses a proof bound to another client, bad keys, and other users' clients", async () => {
    const before = await issuedCount();
    const key = ed25519();
    const nonce = await challenge();
    const wrongClient = signProofOfPossession(key.privateKey, {
      challenge: nonce,
      user: "alice",
      domain: "a.test",
      clientId: "other",
    });
    expect(
      (
        await postJson(
          `${identity.base}/api/v1/clients/${clientId}/credential`,
          {
            challenge: nonce,
            signaturePublicKey: key.publicRaw.toString("base64"),
            signature: Buffer.from(wrongClient).toString("base64"),
          },
          auth,
        )
      ).status,
    ).toBe(400);
    const short = await postJson(
      `${identity.base}/api/v1/clients/${clientId}/credential`,
      { challenge: await challenge(), signaturePublicKey: "AAAA", signature: "AAAA" },
      auth,
    );
    expect(short.status).toBe(400);
    const bob = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "bob",
      password: "bob's password",
    });
    const bobAuth = { authorization: `Bearer ${String(bob.body.token)}` };
    const foreign = await postJson(
      `${identity.base}/api/v1/clients/${clientId}/credential/challenge`,
      {},
      bobAuth,
    );
    expect(foreign.status).toBe(404);
    expect(await issuedCount()).toBe(before);
  });
});
