import { describe, expect, it } from "vitest";
import { loadCiphersuite } from "./crypto.js";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("caching crypto provider", () => {
  it("computes the same hashes, MACs and HKDF output as the default provider", async () => {
    const caching = await loadCiphersuite(undefined, "caching");
    const plain = await loadCiphersuite(undefined, "default");
    const data = new TextEncoder().encode("transcript");
    const key = bytes(1, 2, 3, 4, 5);
    expect(await caching.hash.digest(data)).toEqual(await plain.hash.digest(data));
    const mac = await caching.hash.mac(key, data);
    expect(mac).toEqual(await plain.hash.mac(key, data));
    expect(await caching.hash.verifyMac(key, mac, data)).toBe(true);
    expect(
      await caching.hash.verifyMac(
        key,
        mac.map((b, i) => (i === 0 ? b ^ 1 : b)),
        data,
      ),
    ).toBe(false);
    const prk = await caching.kdf.extract(new Uint8Array(), data);
    expect(prk).toEqual(await plain.kdf.extract(new Uint8Array(), data));
    expect(await caching.kdf.expand(prk, key, 77)).toEqual(await plain.kdf.expand(prk, key, 77));
    expect(caching.kdf.size).toBe(plain.kdf.size);
  });

  it("signs and verifies Ed25519 interchangeably with the default provider", async () => {
    const caching = await loadCiphersuite(undefined, "caching");
    const plain = await loadCiphersuite(undefined, "default");
    const message = new TextEncoder().encode("signed content");
    for (const [signer, verifier] of [
      [caching, plain],
      [plain, caching],
    ] as const) {
      const pair = await signer.signature.keygen();
      const signature = await signer.signature.sign(pair.signKey, message);
      expect(await verifier.signature.verify(pair.publicKey, message, signature)).toBe(true);
      // Signing again goes through the key cache and stays deterministic (Ed25519).
      expect(await signer.signature.sign(pair.signKey, message)).toEqual(signature);
      expect(await verifier.signature.verify(pair.publicKey, bytes(1), signature)).toBe(false);
    }
    expect(await caching.signature.verify(bytes(1, 2, 3), message, new Uint8Array(64))).toBe(false);
  });

  it("encrypts with the AEAD compatibly with the default provider", async () => {
    const caching = await loadCiphersuite(undefined, "caching");
    const plain = await loadCiphersuite(undefined, "default");
    const key = new Uint8Array(16).fill(7);
    const nonce = new Uint8Array(12).fill(3);
    const aad = bytes(9, 9);
    const sealed = await caching.hpke.encryptAead(key, nonce, aad, bytes(1, 2, 3));
    expect(sealed).toEqual(await plain.hpke.encryptAead(key, nonce, aad, bytes(1, 2, 3)));
    expect(await plain.hpke.decryptAead(key, nonce, aad, sealed)).toEqual(bytes(1, 2, 3));
    await expect(caching.hpke.decryptAead(key, nonce, bytes(8), sealed)).rejects.toThrow();
  });
});

describe("node:crypto HPKE (X25519, HKDF-SHA256)", () => {
  it("interoperates with ts-mls's HPKE in both directions", async () => {
    const caching = await loadCiphersuite(undefined, "caching");
    const plain = await loadCiphersuite(undefined, "default");
    const info = new TextEncoder().encode("MLS 1.0 UpdatePathNode context");
    const aad = bytes(1, 2, 3);
    const secret = new Uint8Array(32).fill(42);
    const recipient = await plain.hpke.generateKeyPair();
    const publicBytes = await plain.hpke.exportPublicKey(recipient.publicKey);
    const privateBytes = await plain.hpke.exportPrivateKey(recipient.privateKey);

    // Sealed on node:crypto (key imported through the caching provider), opened by ts-mls.
    const sealed = await caching.hpke.seal(
      await caching.hpke.importPublicKey(publicBytes),
      secret,
      info,
      aad,
    );
    expect(await plain.hpke.open(recipient.privateKey, sealed.enc, sealed.ct, info, aad)).toEqual(secret);
    // Sealed by ts-mls, opened on node:crypto.
    const byDefault = await plain.hpke.seal(recipient.publicKey, secret, info);
    const nodeKey = await caching.hpke.importPrivateKey(privateBytes);
    expect(await caching.hpke.open(nodeKey, byDefault.enc, byDefault.ct, info)).toEqual(secret);
    // Wrong info fails authentication.
    await expect(caching.hpke.open(nodeKey, byDefault.enc, byDefault.ct, bytes(0))).rejects.toThrow();
    // Keys from ts-mls's own generation fall back to ts-mls's implementation.
    const generated = await caching.hpke.generateKeyPair();
    const fallback = await caching.hpke.seal(generated.publicKey, secret, info);
    expect(await caching.hpke.open(generated.privateKey, fallback.enc, fallback.ct, info)).toEqual(secret);
  });
});
