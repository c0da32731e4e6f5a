import { createPublicKey, type KeyObject } from "node:crypto";

/**
 * FEP-521a keys: an actor's `assertionMethod` lists `Multikey` entries whose `publicKeyMultibase` is
 * the key in multibase form: `z` (base58btc) over the multicodec prefix of the key type and the raw
 * key. Only Ed25519 (multicodec 0xed, varint `ed 01`, then 32 bytes) is read and written here.
 */

const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ED25519_MULTICODEC = Uint8Array.of(0xed, 0x01);
const ED25519_KEY_BYTES = 32;
/** A multibase key longer than this is not an Ed25519 key; refused before decoding. */
const MAX_MULTIBASE_LENGTH = 128;

export function base58btcEncode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits: number[] = [];
  for (const byte of bytes.subarray(zeros)) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] ?? 0) * 256;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  return (
    "1".repeat(zeros) +
    digits
      .reverse()
      .map((digit) => BASE58_ALPHABET[digit])
      .join("")
  );
}

export function base58btcDecode(text: string): Uint8Array | undefined {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const bytes: number[] = [];
  for (const char of text.slice(zeros)) {
    const value = BASE58_ALPHABET.indexOf(char);
    if (value < 0) return undefined;
    let carry = value;
    for (let i = 0; i < bytes.length; i++) {
      carry += (bytes[i] ?? 0) * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...bytes.reverse()]);
}

/** The `publicKeyMultibase` of an Ed25519 public (or private) key. */
export function ed25519PublicKeyMultibase(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== "ed25519") {
    throw new Error(`a ${publicKey.asymmetricKeyType} key has no Ed25519 multibase form`);
  }
  const jwk = publicKey.export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("the Ed25519 key exported no public value");
  const raw = Buffer.from(jwk.x, "base64url");
  return `z${base58btcEncode(Buffer.concat([ED25519_MULTICODEC, raw]))}`;
}

/** The Ed25519 public key a `publicKeyMultibase` names, or why it names none. */
export function importEd25519Multibase(multibase: unknown): KeyObject | string {
  if (typeof multibase !== "string") return "publicKeyMultibase is missing";
  if (multibase.length > MAX_MULTIBASE_LENGTH) return "publicKeyMultibase is too long for an Ed25519 key";
  if (!multibase.startsWith("z")) return "publicKeyMultibase is not base58btc (it must start with z)";
  const bytes = base58btcDecode(multibase.slice(1));
  if (bytes === undefined) return "publicKeyMultibase is not valid base58btc";
  if (bytes[0] !== ED25519_MULTICODEC[0] || bytes[1] !== ED25519_MULTICODEC[1]) {
    return "publicKeyMultibase is not an Ed25519 key (multicodec 0xed)";
  }
  if (bytes.length !== ED25519_MULTICODEC.length + ED25519_KEY_BYTES) {
    return `publicKeyMultibase holds ${bytes.length - ED25519_MULTICODEC.length} key bytes, not 32`;
  }
  const x = Buffer.from(bytes.subarray(ED25519_MULTICODEC.length)).toString("base64url");
  try {
    return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
  } catch (error) {
    return `publicKeyMultibase does not import: ${error instanceof Error ? error.message : String(error)}`;
  }
}
