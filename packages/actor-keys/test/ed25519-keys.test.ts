import { generateKeyPairSync } from "node:crypto";
import {
  ed25519PublicKeyMultibase,
  importEd25519Multibase,
  parseKeyDocument,
  signRequest,
  verifyRequest,
} from "@mimi/http-signatures";
import { createPgliteSql, migrate, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ASSERTION_METHOD_CONTEXTS,
  actorKeyMigrations,
  assertionMethodEntry,
  createActorKeyStore,
  decryptSecret,
  ed25519KeyId,
  encryptSecret,
  generateKeyEncryptionKey,
  parseKeyEncryptionKey,
} from "../src/index.js";

let sql: Sql;
const kek = parseKeyEncryptionKey(generateKeyEncryptionKey());
beforeAll(async () => {
  sql = await createPgliteSql();
  await migrate(sql, actorKeyMigrations);
});
afterAll(() => sql.close());

async function storedEd25519(actorId: string) {
  const result = await sql.query<{ public_key_multibase: string; private_key_encrypted: Uint8Array }>(
    "select public_key_multibase, private_key_encrypted from keys.actor_ed25519_keys where actor_id = $1",
    [actorId],
  );
  return result.rows[0];
}

describe("Ed25519 keys beside the RSA keys", () => {
  it("ensureKeys gives both public keys; signingKey carries the matching Ed25519 key", async () => {
    const store = createActorKeyStore(sql, kek);
    const actor = "https://a.test/users/alice";
    const keys = await store.ensureKeys(actor);
    expect(keys.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(keys.ed25519PublicKeyMultibase).toMatch(/^z6Mk/);
    expect(await store.ensureKeys(actor)).toEqual(keys);
    expect(await createActorKeyStore(sql, kek).ensureKeys(actor)).toEqual(keys);
    const signing = await store.signingKey(actor);
    expect(signing?.ed25519?.keyId).toBe(`${actor}#ed25519-key`);
    expect(ed25519PublicKeyMultibase(signing!.ed25519!.privateKey)).toBe(keys.ed25519PublicKeyMultibase);
    expect(typeof importEd25519Multibase(keys.ed25519PublicKeyMultibase)).not.toBe("string");
  });

  it("seals the Ed25519 private key bound to its actor, apart from the RSA key", async () => {
    const actor = "https://a.test/users/bob";
    await createActorKeyStore(sql, kek).ensure(actor);
    const row = await storedEd25519(actor);
    expect(row).toBeDefined();
    expect(Buffer.from(row!.private_key_encrypted).toString("latin1")).not.toContain("PRIVATE KEY");
    // Not openable as the RSA key's row (the actor id alone) nor as another actor's.
    expect(() => decryptSecret(kek, row!.private_key_encrypted, actor)).toThrow();
    expect(() =>
      decryptSecret(kek, row!.private_key_encrypted, "https://a.test/users/mallory#ed25519"),
    ).toThrow();
  });

  it("a row swapped onto another actor does not load", async () => {
    const store = createActorKeyStore(sql, kek);
    await store.ensure("https://a.test/users/carol");
    await store.ensure("https://a.test/users/dave");
    const carol = await storedEd25519("https://a.test/users/carol");
    await sql.query("update keys.actor_ed25519_keys set private_key_encrypted = $1 where actor_id = $2", [
      carol!.private_key_encrypted,
      "https://a.test/users/dave",
    ]);
    await expect(createActorKeyStore(sql, kek).signingKey("https://a.test/users/dave")).rejects.toThrow();
  });

  it("an actor created before the Ed25519 keys gets one lazily, the same for signing and its document", async () => {
    const old = await createPgliteSql();
    try {
      await migrate(old, { ...actorKeyMigrations, migrations: actorKeyMigrations.migrations.slice(0, 1) });
      const actor = "https://a.test/users/early";
      const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
      await old.query(
        "insert into keys.actor_keys (actor_id, public_key_pem, private_key_encrypted) values ($1, $2, $3)",
        [
          actor,
          rsa.publicKey.export({ type: "spki", format: "pem" }).toString(),
          encryptSecret(kek, Buffer.from(rsa.privateKey.export({ type: "pkcs8", format: "pem" })), actor),
        ],
      );
      await migrate(old, actorKeyMigrations);
      const signing = await createActorKeyStore(old, kek).signingKey(actor);
      expect(signing?.ed25519).toBeDefined();
      const published = await createActorKeyStore(old, kek).ensureKeys(actor);
      expect(published.ed25519PublicKeyMultibase).toBe(
        ed25519PublicKeyMultibase(signing!.ed25519!.privateKey),
      );
      expect(published.publicKeyPem).toBe(rsa.publicKey.export({ type: "spki", format: "pem" }).toString());
    } finally {
      await old.close();
    }
  });

  it("lets concurrent creators agree on one Ed25519 key", async () => {
    const actor = "https://a.test/channels/race-ed";
    const stores = [
      createActorKeyStore(sql, kek),
      createActorKeyStore(sql, kek),
      createActorKeyStore(sql, kek),
    ];
    const keys = await Promise.all(stores.map((store) => store.ensureKeys(actor)));
    expect(new Set(keys.map((k) => k.ed25519PublicKeyMultibase)).size).toBe(1);
    const signers = await Promise.all(stores.map((store) => store.signingKey(actor)));
    for (const signer of signers) {
      expect(ed25519PublicKeyMultibase(signer!.ed25519!.privateKey)).toBe(keys[0]!.ed25519PublicKeyMultibase);
    }
  });

  it("a document built with assertionMethodEntry verifies an RFC 9421 signature by the stored key", async () => {
    const actor = "https://a.test/users/erin";
    const store = createActorKeyStore(sql, kek);
    const published = await store.ensureKeys(actor);
    const document = {
      "@context": [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        ...ASSERTION_METHOD_CONTEXTS,
      ],
      id: actor,
      publicKey: { id: `${actor}#main-key`, owner: actor, publicKeyPem: published.publicKeyPem },
      assertionMethod: [assertionMethodEntry(actor, published.ed25519PublicKeyMultibase)],
    };
    expect(document.assertionMethod[0]).toEqual({
      id: ed25519KeyId(actor),
      type: "Multikey",
      controller: actor,
      publicKeyMultibase: published.ed25519PublicKeyMultibase,
    });
    const key = await store.signingKey(actor);
    const now = new Date();
    const headers = signRequest(
      { method: "POST", url: "https://b.test/inbox", headers: {}, body: "{}" },
      key!,
      {
        now,
        scheme: "rfc9421",
      },
    );
    const outcome = await verifyRequest(
      { method: "POST", path: "/inbox", headers, body: new TextEncoder().encode("{}") },
      {
        async resolve(keyId) {
          const parsed = parseKeyDocument(document, keyId, actor);
          return parsed.ok
            ? { ok: true, key: parsed.key }
            : { ok: false, reason: "keyFetchError", detail: parsed.detail };
        },
      },
      { now },
    );
    expect(outcome).toEqual({ ok: true, keyId: ed25519KeyId(actor), keyOwner: actor, scheme: "rfc9421" });
  });
});
