/**
 * Crypto providers for ts-mls.
 *
 * ts-mls's default provider goes through WebCrypto and re-imports every key on every
 * operation: an Ed25519 private key is re-imported for each signature, every HMAC and
 * HKDF step imports its key, every AES-GCM call imports its key. For application
 * messages (one signature, a few HKDF expansions and two AEAD calls each) the imports
 * dominate. The caching provider
 * - signs and verifies Ed25519 with node:crypto KeyObjects, cached by key bytes,
 * - computes hashes, HMAC and HKDF with node:crypto's synchronous primitives,
 * - runs the AEAD with node:crypto ciphers,
 * - caches imported HPKE keys by key bytes and, for DHKEM(X25519), seals and opens
 *   HPKE (RFC 9180 base mode) on node:crypto; other KEMs keep ts-mls's HPKE.
 * Deterministic outputs (hashes, HKDF, signatures, AEAD) are byte-identical to the default
 * provider's and randomized ones (HPKE) interoperate, so states and messages made with one
 * provider work with the other.
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
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  timingSafeEqual,
} from "node:crypto";
import { BoundedCache } from "@mimi/bounded-cache";
import {
  type CiphersuiteImpl,
  type CiphersuiteName,
  type CryptoProvider,
  defaultCryptoProvider,
  getCiphersuiteFromName,
  type Hash,
  type HashAlgorithm,
  type Hpke,
  type HpkeAlgorithm,
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
  const signingKeys = new BoundedCache<string, KeyObject>({ maxEntries: capacity });
  const verifyingKeys = new BoundedCache<string, KeyObject>({ maxEntries: capacity });
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

const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const HPKE_VERSION_LABEL = Buffer.from("HPKE-v1");
const HPKE_AEAD_IDS: Record<string, { id: number; keyLength: number }> = {
  AES128GCM: { id: 0x0001, keyLength: 16 },
  AES256GCM: { id: 0x0002, keyLength: 32 },
  CHACHA20POLY1305: { id: 0x0003, keyLength: 32 },
};
const HPKE_NONCE_LENGTH = 12;

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function rawX25519PublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: "jwk" });
  if (jwk.x === undefined) throw new Error("X25519 key export failed");
  return new Uint8Array(Buffer.from(jwk.x, "base64url"));
}

/**
 * RFC 9180 base-mode single-shot seal/open for DHKEM(X25519, HKDF-SHA256) on node:crypto.
 * The X25519 work is synchronous OpenSSL instead of WebCrypto key generation and imports.
 */
export function makeNodeHpkeX25519(aeadName: string) {
  const aead = HPKE_AEAD_IDS[aeadName];
  const cipherName = nodeAeadNames[aeadName];
  if (aead === undefined || cipherName === undefined) return undefined;
  const aeadKeyLength = aead.keyLength;
  const kdf = makeNodeKdf("SHA-256");
  const kemSuite = Buffer.concat([Buffer.from("KEM"), u16(0x0020)]);
  const hpkeSuite = Buffer.concat([Buffer.from("HPKE"), u16(0x0020), u16(0x0001), u16(aead.id)]);
  const labeledExtract = (salt: Uint8Array, suite: Buffer, label: string, ikm: Uint8Array) =>
    kdf.extract(salt, Buffer.concat([HPKE_VERSION_LABEL, suite, Buffer.from(label), ikm]));
  const labeledExpand = (prk: Uint8Array, suite: Buffer, label: string, info: Uint8Array, length: number) =>
    kdf.expand(
      prk,
      Buffer.concat([u16(length), HPKE_VERSION_LABEL, suite, Buffer.from(label), info]),
      length,
    );
  const empty = new Uint8Array();

  async function sharedSecret(dh: Buffer, enc: Uint8Array, recipientPublic: Uint8Array): Promise<Uint8Array> {
    if (dh.every((b) => b === 0)) throw new Error("X25519 produced an all-zero shared secret");
    const eaePrk = await labeledExtract(empty, kemSuite, "eae_prk", dh);
    return labeledExpand(eaePrk, kemSuite, "shared_secret", Buffer.concat([enc, recipientPublic]), 32);
  }

  async function keySchedule(
    shared: Uint8Array,
    info: Uint8Array,
  ): Promise<{ key: Uint8Array; nonce: Uint8Array }> {
    const pskIdHash = await labeledExtract(empty, hpkeSuite, "psk_id_hash", empty);
    const infoHash = await labeledExtract(empty, hpkeSuite, "info_hash", info);
    const context = Buffer.concat([Uint8Array.of(0), pskIdHash, infoHash]);
    const secret = await labeledExtract(shared, hpkeSuite, "secret", empty);
    return {
      key: await labeledExpand(secret, hpkeSuite, "key", context, aeadKeyLength),
      nonce: await labeledExpand(secret, hpkeSuite, "base_nonce", context, HPKE_NONCE_LENGTH),
    };
  }

  const importPublic = (raw: Uint8Array): KeyObject =>
    createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });

  return {
    importPublic,
    importPrivate(raw: Uint8Array): { key: KeyObject; publicKey: Uint8Array } {
      const key = createPrivateKey({
        key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
        format: "der",
        type: "pkcs8",
      });
      return { key, publicKey: rawX25519PublicKey(createPublicKey(key)) };
    },
    async seal(
      recipient: KeyObject,
      recipientRaw: Uint8Array,
      plaintext: Uint8Array,
      info: Uint8Array,
      aad?: Uint8Array,
    ) {
      const ephemeral = generateKeyPairSync("x25519");
      const enc = rawX25519PublicKey(ephemeral.publicKey);
      const dh = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
      const { key, nonce } = await keySchedule(await sharedSecret(dh, enc, recipientRaw), info);
      return { ct: nodeAeadEncrypt(cipherName, key, nonce, aad, plaintext), enc };
    },
    async open(
      recipient: { key: KeyObject; publicKey: Uint8Array },
      enc: Uint8Array,
      ciphertext: Uint8Array,
      info: Uint8Array,
      aad?: Uint8Array,
    ) {
      if (enc.length !== 32) throw new Error("X25519 encapsulated key must be 32 bytes");
      const dh = diffieHellman({ privateKey: recipient.key, publicKey: importPublic(enc) });
      const { key, nonce } = await keySchedule(await sharedSecret(dh, enc, recipient.publicKey), info);
      return nodeAeadDecrypt(cipherName, key, nonce, aad, ciphertext);
    },
  };
}

/**
 * Keeps ts-mls's HPKE key objects but caches their import, runs the AEAD on node:crypto
 * and, for X25519 suites, seals and opens on node:crypto. Keys this wrapper imported are
 * remembered next to ts-mls's key objects; keys it did not import (ts-mls's own key
 * generation) fall back to ts-mls's seal/open.
 */
export function wrapHpke(base: Hpke, algorithm: HpkeAlgorithm, capacity: number): Hpke {
  const publicKeys = new BoundedCache<string, HpkePublicKey>({ maxEntries: capacity });
  const privateKeys = new BoundedCache<string, HpkePrivateKey>({ maxEntries: capacity });
  const nodeCipher = nodeAeadNames[algorithm.aead];
  const nodeHpke =
    algorithm.kem === "DHKEM-X25519-HKDF-SHA256" && algorithm.kdf === "HKDF-SHA256"
      ? makeNodeHpkeX25519(algorithm.aead)
      : undefined;
  const nodePublic = new WeakMap<HpkePublicKey, { key: KeyObject; raw: Uint8Array }>();
  const nodePrivate = new WeakMap<HpkePrivateKey, { key: KeyObject; publicKey: Uint8Array }>();
  return {
    ...base,
    async importPublicKey(bytes) {
      const index = publicKeyIndex(bytes);
      const cached = publicKeys.get(index);
      if (cached !== undefined) return cached;
      const key = await base.importPublicKey(bytes);
      if (nodeHpke !== undefined)
        nodePublic.set(key, { key: nodeHpke.importPublic(bytes), raw: bytes.slice() });
      publicKeys.set(index, key);
      return key;
    },
    async importPrivateKey(bytes) {
      const index = privateKeyIndex(bytes);
      const cached = privateKeys.get(index);
      if (cached !== undefined) return cached;
      const key = await base.importPrivateKey(bytes);
      if (nodeHpke !== undefined) nodePrivate.set(key, nodeHpke.importPrivate(bytes));
      privateKeys.set(index, key);
      return key;
    },
    async seal(publicKey, plaintext, info, aad) {
      const known = nodePublic.get(publicKey);
      if (nodeHpke === undefined || known === undefined) return base.seal(publicKey, plaintext, info, aad);
      return nodeHpke.seal(known.key, known.raw, plaintext, info, aad);
    },
    async open(privateKey, kemOutput, ciphertext, info, aad) {
      const known = nodePrivate.get(privateKey);
      if (nodeHpke === undefined || known === undefined)
        return base.open(privateKey, kemOutput, ciphertext, info, aad);
      return nodeHpke.open(known, kemOutput, ciphertext, info, aad);
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
        hpke: wrapHpke(base.hpke, cs.hpke, capacity),
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
