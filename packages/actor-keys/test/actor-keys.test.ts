import { sign, verify } from "node:crypto";
import { createPgliteSql, migrate, type Sql, type SqlParam } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  actorKeyMigrations,
  createActorKeyStore,
  decryptSecret,
  encryptSecret,
  generateKeyEncryptionKey,
  keysMatch,
  parseKeyEncryptionKey,
} from "../src/index.js";

let sql: Sql;
beforeAll(async () => {
  sql = await createPgliteSql();
  await migrate(sql, actorKeyMigrations);
});
afterAll(() => sql.close());

describe("actor key store", () => {
  const kek = parseKeyEncryptionKey(generateKeyEncryptionKey());

  it("creates one RSA-2048 key per actor and signs with it", async () => {
    const store = createActorKeyStore(sql, kek);
    const actor = "https://a.test/users/alice";
    const pem = await store.ensure(actor);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(await store.ensure(actor)).toBe(pem);
    const key = await store.signingKey(actor);
    expect(key?.keyId).toBe(`${actor}#main-key`);
    expect(key?.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(keysMatch(key!.privateKey, pem)).toBe(true);
    const signature = sign("sha256", Buffer.from("hello"), key!.privateKey);
    expect(verify("sha256", Buffer.from("hello"), pem, signature)).toBe(true);
  });

  it("stores private keys encrypted and bound to their actor", async () => {
    const store = createActorKeyStore(sql, kek);
    await store.ensure("https://a.test/users/bob");
    const row = await sql.query<{ private_key_encrypted: Uint8Array }>(
      "select private_key_encrypted from keys.actor_keys where actor_id = $1",
      ["https://a.test/users/bob"],
    );
    const sealed = row.rows[0]!.private_key_encrypted;
    expect(Buffer.from(sealed).toString("latin1")).not.toContain("PRIVATE KEY");
    expect(() => decryptSecret(kek, sealed, "https://a.test/users/mallory")).toThrow();
    const otherKek = parseKeyEncryptionKey(generateKeyEncryptionKey());
    expect(() => decryptSecret(otherKek, sealed, "https://a.test/users/bob")).toThrow(
      /stored private key of https:\/\/a\.test\/users\/bob does not open with this MIMI_KEY_ENCRYPTION_KEY/,
    );
    expect(decryptSecret(kek, encryptSecret(kek, Buffer.from("x"), "c"), "c").toString()).toBe("x");
  });

  it("answers undefined for actors without keys and rejects bad key-encryption keys", async () => {
    const store = createActorKeyStore(sql, kek);
    expect(await store.signingKey("https://a.test/users/nobody")).toBeUndefined();
    expect(await store.publicKeyPem("https://a.test/users/nobody")).toBeUndefined();
    expect(() => parseKeyEncryptionKey("c2hvcnQ=")).toThrow(/32 bytes/);
  });

  it("loads a signing key once, however many callers ask at the same time", async () => {
    const actor = "https://a.test/users/busy";
    await createActorKeyStore(sql, kek).ensure(actor);
    let statements = 0;
    const countingSql: Sql = {
      backend: sql.backend,
      query<Row>(text: string, params?: readonly SqlParam[]) {
        statements++;
        return sql.query<Row>(text, params);
      },
      exec: (text) => sql.exec(text),
      transaction: (work) => sql.transaction(work),
      ping: () => sql.ping(),
      close: () => sql.close(),
    };
    const store = createActorKeyStore(countingSql, kek);
    const keys = await Promise.all(Array.from({ length: 5 }, () => store.signingKey(actor)));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]?.keyId).toBe(`${actor}#main-key`);
    expect(await store.signingKey(actor)).toBe(keys[0]);
    // One read of the RSA row and one of the Ed25519 row, for all five callers.
    expect(statements).toBe(2);
  });

  it("lets concurrent creators agree on one key", async () => {
    const actor = "https://a.test/channels/race";
    const pems = await Promise.all(
      [createActorKeyStore(sql, kek), createActorKeyStore(sql, kek)].map((s) => s.ensure(actor)),
    );
    expect(pems[0]).toBe(pems[1]);
  });
});
