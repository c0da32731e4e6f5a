/**
 * Crypto providers for ts-mls.
 *
 * ts-mls's default provider goes through WebCrypto and re-imports every key on every
 * operation: an Ed25519 private key is re-imported for each signature, every HMAC and
 * HKDF step imports its key, every AES-GCM call imports its key. For application
 * messages (one signature, a few HKDF expansions and two AEAD calls each) the imports
 * dominate. The caching provider keeps ts-mls's HPKE (X25519 KEM) but
 * - signs and verifies Ed25519 with node:crypto KeyObjects, cached by key bytes,
 * - computes hashes, HMAC and HKDF with node:crypto's synchronous primitives,
 * - runs the AEAD with node:crypto ciphers,
 * - caches imported HPKE keys by key bytes.
 * All outputs are byte-identical to the default provider (same algorithms), so states
 * and messages made with one provider work with the other.
 *
 * Cached private keys live in memory as long as they stay in the bounded LRU; private
 * keys are indexed by a SHA-256 fingerprint so the cache index never holds key bytes.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  timingSafeEqual,
} from "node:crypto";
import {
  type CiphersuiteImpl,
  type CiphersuiteName,
  type CryptoProvider,
  defaultCryptoProvider,
  getCiphersuiteFromName,
  type Hash,
  type HashAlgorithm,
  type Hpke,
  type Kdf,
  type KdfAlgorithm,
  type Signature,
} from "ts-mls";

/** The project's default ciphersuite (id 1). */
export const DEFAULT_CIPHERSUITE: CiphersuiteName = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

export interface CachingProviderOptions {
  /** Upper bound on cached keys of each kind (signing, verifying, HPKE public, HPKE private). */
  maxCachedKeys?: number;
}

/** A small least-recently-used map: Map keeps insertion order, a hit re-inserts. */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function toBytes(buffer: Buffer): Uint8Array {
  // Copy out of Node's shared buffer pool: ts-mls may hand `.buffer` to WebCrypto.
  return new Uint8Array(buffer);
}

function publicKeyIndex(key: Uint8Array): string {
  return Buffer.from(key).toString("base64");
}

function privateKeyIndex(key: Uint8Array): string {
  return createHash("sha256").update(key).digest("base64");
}

const nodeHashNames: Record<HashAlgorithm, string> = {
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

export function makeNodeHash(algorithm: HashAlgorithm): Hash {
  const name = nodeHashNames[algorithm];
  return {
    async digest(data) {
      return toBytes(createHash(name).update(data).digest());
    },
    async mac(key, data) {
      return toBytes(createHmac(name, key).update(data).digest());
    },
    async verifyMac(key, mac, data) {
      const expected = createHmac(name, key).update(data).digest();
      return expected.length === mac.length && timingSafeEqual(expected, mac);
    },
  };
}

const kdfHashes: Record<KdfAlgorithm, HashAlgorithm> = {
  "HKDF-SHA256": "SHA-256",
  "HKDF-SHA384": "SHA-384",
  "HKDF-SHA512": "SHA-512",
};

/** HKDF (RFC 5869) split into extract and expand, as MLS uses them separately. */
export function makeNodeKdf(algorithm: HashAlgorithm): Kdf {
  const name = nodeHashNames[algorithm];
  const size = createHash(name).digest().length;
  return {
    size,
    async extract(salt, ikm) {
      // An empty salt means HashLen zero bytes; HMAC pads keys with zeros, so both agree.
      return toBytes(createHmac(name, salt).update(ikm).digest());
    },
    async expand(prk, info, length) {
      if (length > 255 * size) throw new Error("HKDF expand length too large");
      const output = new Uint8Array(length);
      let previous: Buffer = Buffer.alloc(0);
      let written = 0;
      for (let counter = 1; written < length; counter++) {
        previous = createHmac(name, prk)
          .update(previous)
          .update(info)
          .update(Uint8Array.of(counter))
          .digest();
        const take = Math.min(previous.length, length - written);
        output.set(previous.subarray(0, take), written);
        written += take;
      }
      return output;
    },
  };
}

// DER prefixes that turn raw Ed25519 keys into PKCS#8 / SPKI structures (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

function importEd25519PrivateKey(signKey: Uint8Array): KeyObject {
  // ts-mls's default keygen hands out PKCS#8 (48 bytes); noble and this module use the raw 32-byte seed.
  const der = signKey.length === 32 ? Buffer.concat([ED25519_PKCS8_PREFIX, signKey]) : Buffer.from(signKey);
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}

function importEd25519PublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new Error("Ed25519 public key must be 32 bytes");
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
    format: "der",
    type: "spki",
  });
}

export function makeNodeEd25519(capacity: number): Signature {
  const signingKeys = new LruCache<string, KeyObject>(capacity);
  const verifyingKeys = new LruCache<string, KeyObject>(capacity);
  return {
    async sign(signKey, message) {
      const index = privateKeyIndex(signKey);
      let key = signingKeys.get(index);
      if (key === undefined) {
        key = importEd25519PrivateKey(signKey);
        signingKeys.set(index, key);
      }
      return toBytes(nodeSign(null, message, key));
    },
    async verify(publicKey, message, signature) {
      const index = publicKeyIndex(publicKey);
      let key = verifyingKeys.get(index);
      try {
        if (key === undefined) {
          key = importEd25519PublicKey(publicKey);
          verifyingKeys.set(index, key);
        }
        return nodeVerify(null, message, key, signature);
      } catch {
        return false;
      }
    },
    async keygen() {
      const pair = generateKeyPairSync("ed25519");
      const jwk = pair.privateKey.export({ format: "jwk" });
      if (jwk.d === undefined || jwk.x === undefined) throw new Error("Ed25519 key export failed");
      return {
        signKey: new Uint8Array(Buffer.from(jwk.d, "base64url")),
        publicKey: new Uint8Array(Buffer.from(jwk.x, "base64url")),
      };
    },
  };
}

const nodeAeadNames: Record<string, string> = {
  AES128GCM: "aes-128-gcm",
  AES256GCM: "aes-256-gcm",
  CHACHA20POLY1305: "chacha20-poly1305",
};
const AEAD_TAG_LENGTH = 16;

function nodeAeadEncrypt(
  cipherName: string,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array | undefined,
  plaintext: Uint8Array,
): Uint8Array {
  // The GCM overload's typing also fits chacha20-poly1305 (same AAD/tag methods).
  const cipher = createCipheriv(cipherName as "aes-128-gcm", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  if (aad !== undefined && aad.length > 0) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return toBytes(body);
}

function nodeAeadDecrypt(
  cipherName: string,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array | undefined,
  ciphertext: Uint8Array,
): Uint8Array {
  if (ciphertext.length < AEAD_TAG_LENGTH) throw new Error("AEAD ciphertext too short");
  const bodyLength = ciphertext.length - AEAD_TAG_LENGTH;
  const decipher = createDecipheriv(cipherName as "aes-128-gcm", key, nonce, {
    authTagLength: AEAD_TAG_LENGTH,
  });
  decipher.setAuthTag(ciphertext.subarray(bodyLength));
  if (aad !== undefined && aad.length > 0) decipher.setAAD(aad, { plaintextLength: bodyLength });
  return toBytes(Buffer.concat([decipher.update(ciphertext.subarray(0, bodyLength)), decipher.final()]));
}

type HpkePublicKey = Awaited<ReturnType<Hpke["importPublicKey"]>>;
type HpkePrivateKey = Awaited<ReturnType<Hpke["importPrivateKey"]>>;

/** Keeps ts-mls's HPKE but caches key imports and swaps the AEAD for node:crypto. */
export function wrapHpke(base: Hpke, aeadName: string, capacity: number): Hpke {
  const publicKeys = new LruCache<string, HpkePublicKey>(capacity);
  const privateKeys = new LruCache<string, HpkePrivateKey>(capacity);
  const nodeCipher = nodeAeadNames[aeadName];
  return {
    ...base,
    async importPublicKey(bytes) {
      const index = publicKeyIndex(bytes);
      const cached = publicKeys.get(index);
      if (cached !== undefined) return cached;
      const key = await base.importPublicKey(bytes);
      publicKeys.set(index, key);
      return key;
    },
    async importPrivateKey(bytes) {
      const index = privateKeyIndex(bytes);
      const cached = privateKeys.get(index);
      if (cached !== undefined) return cached;
      const key = await base.importPrivateKey(bytes);
      privateKeys.set(index, key);
      return key;
    },
    encryptAead:
      nodeCipher === undefined
        ? base.encryptAead
        : async (key, nonce, aad, plaintext) => nodeAeadEncrypt(nodeCipher, key, nonce, aad, plaintext),
    decryptAead:
      nodeCipher === undefined
        ? base.decryptAead
        : async (key, nonce, aad, ciphertext) => nodeAeadDecrypt(nodeCipher, key, nonce, aad, ciphertext),
  };
}

/** A ts-mls CryptoProvider with key caching and node:crypto primitives (see module comment). */
export function createCachingCryptoProvider(options: CachingProviderOptions = {}): CryptoProvider {
  const capacity = options.maxCachedKeys ?? 1024;
  return {
    async getCiphersuiteImpl(cs) {
      const base = await defaultCryptoProvider.getCiphersuiteImpl(cs);
      return {
        ...base,
        hash: makeNodeHash(cs.hash),
        kdf: makeNodeKdf(kdfHashes[cs.hpke.kdf]),
        // Other signature schemes keep ts-mls's implementation (noble, no key import step).
        signature: cs.signature === "Ed25519" ? makeNodeEd25519(capacity) : base.signature,
        hpke: wrapHpke(base.hpke, cs.hpke.aead, capacity),
      };
    },
  };
}

const sharedCachingProvider = createCachingCryptoProvider();
const loadedSuites = new Map<string, Promise<CiphersuiteImpl>>();

/**
 * The ciphersuite implementation to pass to every operation. `provider: "caching"` (the
 * default) shares one caching provider per process; `"default"` is ts-mls's own provider.
 */
export function loadCiphersuite(
  name: CiphersuiteName = DEFAULT_CIPHERSUITE,
  provider: "caching" | "default" = "caching",
): Promise<CiphersuiteImpl> {
  const index = `${provider}:${name}`;
  let loaded = loadedSuites.get(index);
  if (loaded === undefined) {
    const suite = getCiphersuiteFromName(name);
    loaded = (provider === "caching" ? sharedCachingProvider : defaultCryptoProvider).getCiphersuiteImpl(
      suite,
    );
    loadedSuites.set(index, loaded);
  }
  return loaded;
}
