import { generateKeyPairSync } from "node:crypto";
import { signProofOfPossession, verifyClientCredential } from "@mimi/credentials";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

/**
 * A rotation of the domain CA keeps the credentials it issued before valid: both certificates stay in
 * `credential_issuers` until the old one is retired, so existing members verify as before while new
 * credentials come from the new CA.
 */
let identity: TestIdentity;
let auth: Record<string, string>;

beforeAll(async () => {
  identity = await startTestIdentity();
  const created = await postJson(`${identity.base}/api/v1/accounts`, {
    username: "vera",
    password: "vera's password",
  });
  auth = { authorization: `Bearer ${String(created.body.token)}` };
});
afterAll(() => identity.close());

/** A new client of vera's with an issued credential: its chain and signature key. */
async function credential(name: string) {
  const clientId = String((await postJson(`${identity.base}/api/v1/clients`, { name }, auth)).body.id);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ type: "spki", format: "der" });
  const publicRaw = spki.subarray(spki.length - 32);
  const nonce = String(
    (await postJson(`${identity.base}/api/v1/clients/${clientId}/credential/challenge`, {}, auth)).body
      .challenge,
  );
  const signature = signProofOfPossession(privateKey, {
    challenge: nonce,
    user: "vera",
    domain: "a.test",
    clientId,
  });
  const issued = await postJson(
    `${identity.base}/api/v1/clients/${clientId}/credential`,
    {
      challenge: nonce,
      signaturePublicKey: publicRaw.toString("base64"),
      signature: Buffer.from(signature).toString("base64"),
    },
    auth,
  );
  expect(issued.status).toBe(201);
  const chain = (issued.body.chain as string[]).map((der) => new Uint8Array(Buffer.from(der, "base64")));
  return { chain, publicRaw: new Uint8Array(publicRaw) };
}

/** Verifies as a peer would, against what `/.well-known/mimi-configuration` publishes now. */
async function verify(held: { chain: Uint8Array[]; publicRaw: Uint8Array }) {
  const config = (await (await fetch(`${identity.base}/.well-known/mimi-configuration`)).json()) as {
    credential_issuers: string[];
  };
  return verifyClientCredential(held.chain, held.publicRaw, {
    issuersFor: async (domain) =>
      domain === "a.test"
        ? { ok: true, issuersPem: config.credential_issuers }
        : { ok: false, detail: "unknown" },
  });
}

describe("a rotated domain CA", () => {
  it("keeps earlier credentials valid while new ones come from the new CA; retiring the old ends them", async () => {
    const first = await identity.ctx.authorities.active();
    const before = await credential("laptop");
    expect((await verify(before)).ok).toBe(true);

    const second = await identity.ctx.authorities.rotate();
    const after = await credential("phone");
    expect(Buffer.from(after.chain[1] ?? []).equals(Buffer.from(before.chain[1] ?? []))).toBe(false);
    expect(await verify(before)).toMatchObject({ ok: true, acct: "acct:vera@a.test" });
    expect(await verify(after)).toMatchObject({ ok: true, acct: "acct:vera@a.test" });

    // An operator retires the old CA once its credentials were renewed: they stop verifying then.
    await identity.sql.query("update identity.certificate_authorities set retired_at = now() where id = $1", [
      first.id,
    ]);
    expect((await verify(before)).ok).toBe(false);
    expect((await verify(after)).ok).toBe(true);
    expect(second.id).not.toBe(first.id);
  });
});
