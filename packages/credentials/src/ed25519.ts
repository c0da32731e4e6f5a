import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

/** MLS carries Ed25519 keys as the raw 32 bytes; X.509 and Node want them wrapped in DER. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

// SubjectPublicKeyInfo { AlgorithmIdentifier { id-Ed25519 }, BIT STRING (32 bytes) } header.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
// PKCS#8 OneAsymmetricKey { version 0, id-Ed25519, OCTET STRING { OCTET STRING (32 bytes) } } header.
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

export function rawEd25519PublicKeyToSpki(raw: Uint8Array): Uint8Array {
  if (raw.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new RangeError(`an Ed25519 public key is ${ED25519_PUBLIC_KEY_LENGTH} bytes, got ${raw.length}`);
  }
  const spki = new Uint8Array(SPKI_PREFIX.length + raw.length);
  spki.set(SPKI_PREFIX);
  spki.set(raw, SPKI_PREFIX.length);
  return spki;
}

/** The raw key inside an Ed25519 SubjectPublicKeyInfo, or undefined for any other key type. */
export function spkiToRawEd25519PublicKey(spki: Uint8Array): Uint8Array | undefined {
  if (spki.length !== SPKI_PREFIX.length + ED25519_PUBLIC_KEY_LENGTH) return undefined;
  for (let i = 0; i < SPKI_PREFIX.length; i++) {
    if (spki[i] !== SPKI_PREFIX[i]) return undefined;
  }
  return spki.slice(SPKI_PREFIX.length);
}

export function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(rawEd25519PublicKeyToSpki(raw)), format: "der", type: "spki" });
}

/**
 * Accepts the forms an MLS library hands out for an Ed25519 signature key: the raw 32-byte seed,
 * PKCS#8 DER (what ts-mls produces with WebCrypto), or a Node KeyObject.
 */
export function ed25519PrivateKeyObject(key: Uint8Array | KeyObject): KeyObject {
  let keyObject: KeyObject;
  if (key instanceof Uint8Array) {
    const pkcs8 = key.length === ED25519_PUBLIC_KEY_LENGTH ? concat(PKCS8_PREFIX, key) : key;
    keyObject = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  } else {
    keyObject = key;
  }
  if (keyObject.type !== "private" || keyObject.asymmetricKeyType !== "ed25519") {
    throw new TypeError("expected an Ed25519 private key");
  }
  return keyObject;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}
