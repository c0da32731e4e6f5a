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
import { ed25519PublicKeyMultibase } from "@mimi/http-signatures";
import { type Migration, SQL_UNIQUE_VIOLATION, type Sql, sqlErrorCode } from "@mimi/store";

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Two keys per actor (users, channels, the instance actor), for HTTP Signatures: RSA-2048
 * (`<actor>#main-key`, the actor's `publicKey`, draft-cavage for Mastodon) and Ed25519
 * (`<actor>#ed25519-key`, a FEP-521a `assertionMethod` Multikey, RFC 9421).
 * Private keys are stored encrypted with the provider's key-encryption key (AES-256-GCM), so a
 * database dump alone does not let anyone sign as the provider's actors.
 *
 * Actors created before the Ed25519 keys get theirs lazily, on the first `ensure` (their document is
 * served) or `signingKey` (they sign): a migration cannot make one, since the database does not hold
 * the key-encryption key that seals it.
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
    {
      version: 2,
      name: "actor_ed25519_keys",
      sql: `create table keys.actor_ed25519_keys (
        actor_id text primary key,
        public_key_multibase text not null,
        private_key_encrypted bytea not null,
        created_at timestamptz not null default now()
      );`,
    },
  ] satisfies Migration[],
};

/** The FEP-521a key id of an actor's Ed25519 key. */
export function ed25519KeyId(actorId: string): string {
  return `${actorId}#ed25519-key`;
}

/**
 * The `@context` entries an actor document adds for `assertionMethod` (DID v1) and `Multikey`
 * (`controller`, `publicKeyMultibase`), after its own; Fedify and FEP-521a use the same two.
 */
export const ASSERTION_METHOD_CONTEXTS = [
  "https://www.w3.org/ns/did/v1",
  "https://w3id.org/security/multikey/v1",
] as const;

/** The actor document's `assertionMethod` entry for its Ed25519 key (FEP-521a). */
export function assertionMethodEntry(actorId: string, publicKeyMultibase: string) {
  return { id: ed25519KeyId(actorId), type: "Multikey", controller: actorId, publicKeyMultibase };
}

/** What an actor document publishes: the RSA key's PEM and the Ed25519 key's multibase form. */
export interface ActorPublicKeys {
  readonly publicKeyPem: string;
  readonly ed25519PublicKeyMultibase: string;
}

export interface ActorSigningKey {
  keyId: string;
  privateKey: KeyObject;
  /** The actor's Ed25519 key (`<actorId>#ed25519-key`), which RFC 9421 signatures use. */
  ed25519?: { keyId: string; privateKey: KeyObject };
}

export interface ActorKeyStore {
  /** Creates the actor's keys when it has none; returns its RSA public key PEM. */
  ensure(actorId: string): Promise<string>;
  /** Creates the actor's keys when it has none; returns both public keys (for its document). */
  ensureKeys(actorId: string): Promise<ActorPublicKeys>;
  publicKeyPem(actorId: string): Promise<string | undefined>;
  /**
   * The keys to sign as `actorId`: RSA (keyId `<actorId>#main-key`) with its Ed25519 key beside it
   * (created here for an actor that has only the RSA key); undefined when the actor has no key.
   */
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

/**
 * A sealed key that does not open: sealed with another key-encryption key (MIMI_KEY_ENCRYPTION_KEY was
 * changed or differs between replicas), for another actor, or altered in the database.
 */
export class SealedKeyError extends Error {
  constructor(context: string) {
    super(
      `the stored private key of ${context} does not open with this MIMI_KEY_ENCRYPTION_KEY: ` +
        "it was sealed with another key-encryption key, or the row was altered",
    );
    this.name = "SealedKeyError";
  }
}

export function decryptSecret(kek: Buffer, sealed: Uint8Array, context: string): Buffer {
  const data = Buffer.from(sealed);
  const decipher = createDecipheriv("aes-256-gcm", kek, data.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(data.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]);
  } catch {
    // OpenSSL only says "unable to authenticate data"; an operator needs to know which setting it is.
    throw new SealedKeyError(context);
  }
}

/** The associated data sealing an actor's Ed25519 key: not the RSA key's, so rows cannot be swapped. */
function ed25519SealContext(actorId: string): string {
  return `${actorId}#ed25519`;
}

export function createActorKeyStore(sql: Sql, keyEncryptionKey: Buffer): ActorKeyStore {
  const signingKeys = new Map<string, Promise<ActorSigningKey | undefined>>();
  const publicPems = new Map<string, string>();
  const ed25519Multibases = new Map<string, string>();

  async function load(actorId: string) {
    const result = await sql.query<{ public_key_pem: string; private_key_encrypted: Uint8Array }>(
      "select public_key_pem, private_key_encrypted from keys.actor_keys where actor_id = $1",
      [actorId],
    );
    return result.rows[0];
  }

  async function loadEd25519(actorId: string) {
    const result = await sql.query<{ public_key_multibase: string; private_key_encrypted: Uint8Array }>(
      "select public_key_multibase, private_key_encrypted from keys.actor_ed25519_keys where actor_id = $1",
      [actorId],
    );
    return result.rows[0];
  }

  /** The actor's Ed25519 key, created when missing; replicas racing agree on the first. */
  async function ensureEd25519(actorId: string) {
    const known = await loadEd25519(actorId);
    if (known) return known;
    const { publicKey, privateKey } = await generateKeyPairAsync("ed25519");
    const row = {
      public_key_multibase: ed25519PublicKeyMultibase(publicKey),
      private_key_encrypted: encryptSecret(
        keyEncryptionKey,
        Buffer.from(privateKey.export({ type: "pkcs8", format: "pem" })),
        ed25519SealContext(actorId),
      ),
    };
    await sql.query(
      `insert into keys.actor_ed25519_keys (actor_id, public_key_multibase, private_key_encrypted)
       values ($1, $2, $3) on conflict (actor_id) do nothing`,
      [actorId, row.public_key_multibase, row.private_key_encrypted],
    );
    // Whoever inserted first wins; read back what is stored.
    const stored = await loadEd25519(actorId);
    if (!stored) throw new Error(`the Ed25519 key of ${actorId} was not stored`);
    return stored;
  }

  async function ensureRsa(actorId: string): Promise<string> {
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
  }

  async function ensureKeys(actorId: string): Promise<ActorPublicKeys> {
    const publicKeyPem = await ensureRsa(actorId);
    let multibase = ed25519Multibases.get(actorId);
    if (multibase === undefined) {
      multibase = (await ensureEd25519(actorId)).public_key_multibase;
      ed25519Multibases.set(actorId, multibase);
    }
    return { publicKeyPem, ed25519PublicKeyMultibase: multibase };
  }

  async function loadSigningKey(actorId: string): Promise<ActorSigningKey | undefined> {
    const row = await load(actorId);
    if (!row) return undefined;
    const privateKey = createPrivateKey(decryptSecret(keyEncryptionKey, row.private_key_encrypted, actorId));
    const ed25519Row = await ensureEd25519(actorId);
    const ed25519Key = createPrivateKey(
      decryptSecret(keyEncryptionKey, ed25519Row.private_key_encrypted, ed25519SealContext(actorId)),
    );
    if (ed25519Key.asymmetricKeyType !== "ed25519") {
      throw new Error(`the Ed25519 key of ${actorId} is a ${ed25519Key.asymmetricKeyType} key`);
    }
    return {
      keyId: `${actorId}#main-key`,
      privateKey,
      ed25519: { keyId: ed25519KeyId(actorId), privateKey: ed25519Key },
    };
  }

  return {
    async ensure(actorId) {
      return (await ensureKeys(actorId)).publicKeyPem;
    },
    ensureKeys,
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
