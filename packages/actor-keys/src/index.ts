import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { promisify } from "node:util";
import { type Migration, SQL_UNIQUE_VIOLATION, type Sql, sqlErrorCode } from "@mimi/store";

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * One RSA-2048 key per actor (users, channels, the instance actor), for HTTP Signatures.
 * Private keys are stored encrypted with the provider's key-encryption key (AES-256-GCM), so a
 * database dump alone does not let anyone sign as the provider's actors.
 */
export const actorKeyMigrations = {
  schema: "keys",
  migrations: [
    {
      version: 1,
      name: "actor_keys",
      sql: `create table keys.actor_keys (
        actor_id text primary key,
        public_key_pem text not null,
        private_key_encrypted bytea not null,
        created_at timestamptz not null default now()
      );`,
    },
  ] satisfies Migration[],
};

export interface ActorSigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export interface ActorKeyStore {
  /** Creates the actor's key pair when it has none; returns its public key PEM. */
  ensure(actorId: string): Promise<string>;
  publicKeyPem(actorId: string): Promise<string | undefined>;
  /** The key to sign as `actorId` (keyId `<actorId>#main-key`); undefined when the actor has no key. */
  signingKey(actorId: string): Promise<ActorSigningKey | undefined>;
}

export function parseKeyEncryptionKey(base64: string): Buffer {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32) throw new Error("the key-encryption key must be 32 bytes, base64-encoded");
  return key;
}

export function generateKeyEncryptionKey(): string {
  return randomBytes(32).toString("base64");
}

export function encryptSecret(kek: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", kek, iv);
  // Binding the actor id as associated data stops a row's key being swapped onto another actor.
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function decryptSecret(kek: Buffer, sealed: Uint8Array, context: string): Buffer {
  const data = Buffer.from(sealed);
  const decipher = createDecipheriv("aes-256-gcm", kek, data.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(data.subarray(12, 28));
  return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]);
}

export function createActorKeyStore(sql: Sql, keyEncryptionKey: Buffer): ActorKeyStore {
  const signingKeys = new Map<string, Promise<ActorSigningKey | undefined>>();
  const publicPems = new Map<string, string>();

  async function load(actorId: string) {
    const result = await sql.query<{ public_key_pem: string; private_key_encrypted: Uint8Array }>(
      "select public_key_pem, private_key_encrypted from keys.actor_keys where actor_id = $1",
      [actorId],
    );
    return result.rows[0];
  }

  async function loadSigningKey(actorId: string): Promise<ActorSigningKey | undefined> {
    const row = await load(actorId);
    if (!row) return undefined;
    const privateKey = createPrivateKey(decryptSecret(keyEncryptionKey, row.private_key_encrypted, actorId));
    return { keyId: `${actorId}#main-key`, privateKey };
  }

  return {
    async ensure(actorId) {
      const known = publicPems.get(actorId) ?? (await load(actorId))?.public_key_pem;
      if (known) {
        publicPems.set(actorId, known);
        return known;
      }
      const { publicKey, privateKey } = await generateKeyPairAsync("rsa", { modulusLength: 2048 });
      const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
      const privatePem = privateKey.export({ type: "pkcs8", format: "pem" });
      try {
        await sql.query(
          "insert into keys.actor_keys (actor_id, public_key_pem, private_key_encrypted) values ($1, $2, $3)",
          [actorId, publicPem, encryptSecret(keyEncryptionKey, Buffer.from(privatePem), actorId)],
        );
      } catch (error) {
        // Another replica created it first: theirs wins.
        if (sqlErrorCode(error) !== SQL_UNIQUE_VIOLATION) throw error;
        const row = await load(actorId);
        if (!row) throw error;
        publicPems.set(actorId, row.public_key_pem);
        return row.public_key_pem;
      }
      publicPems.set(actorId, publicPem);
      return publicPem;
    },
    async publicKeyPem(actorId) {
      const cached = publicPems.get(actorId);
      if (cached) return cached;
      const row = await load(actorId);
      if (row) publicPems.set(actorId, row.public_key_pem);
      return row?.public_key_pem;
    },
    signingKey(actorId) {
      // Unsealing (AES-GCM) and PEM parsing happen once per actor and process; concurrent first
      // callers share one load. A miss is not remembered: the key may be created later.
      const cached = signingKeys.get(actorId);
      if (cached) return cached;
      const loading = loadSigningKey(actorId).then((key) => {
        if (!key) signingKeys.delete(actorId);
        return key;
      });
      loading.catch(() => signingKeys.delete(actorId));
      signingKeys.set(actorId, loading);
      return loading;
    },
  };
}

/** Checks that a private key and a public key PEM belong together (used by tests and key import). */
export function keysMatch(privateKey: KeyObject, publicKeyPem: string): boolean {
  const derived = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const given = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return Buffer.compare(derived, given) === 0;
}
