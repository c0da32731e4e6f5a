import { beforeAll, describe, expect, it } from "vitest";
import {
  basicCredential,
  type CiphersuiteImpl,
  createKeyPackage,
  decodeKeyPackage,
  encodeKeyPackage,
  frameKeyPackage,
  generateSignatureKeyPair,
  loadCiphersuite,
  validateKeyPackage,
} from "./index.js";

describe("validateKeyPackage", () => {
  let cs: CiphersuiteImpl;
  beforeAll(async () => {
    cs = await loadCiphersuite();
  });

  async function packageBytes(options: { nowSeconds?: number; validForSeconds?: number } = {}) {
    const { keyPackage } = await createKeyPackage({
      credential: basicCredential("alice"),
      signatureKeyPair: await generateSignatureKeyPair(cs),
      cipherSuite: cs,
      ...options,
    });
    return encodeKeyPackage(keyPackage);
  }

  it("accepts a fresh KeyPackage of the default suite", async () => {
    const result = await validateKeyPackage(await packageBytes());
    expect(result.ok).toBe(true);
  });

  it("rejects a flipped signed byte", async () => {
    const bytes = await packageBytes();
    // The last bytes are the KeyPackage signature.
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    const result = await validateKeyPackage(bytes);
    expect(result).toMatchObject({ ok: false, reason: "badKeyPackage" });
  });

  it("rejects expired, overlong and unsupported KeyPackages and garbage", async () => {
    const expired = await packageBytes({ nowSeconds: 1_000_000, validForSeconds: 100 });
    expect(await validateKeyPackage(expired)).toMatchObject({ ok: false, reason: "badKeyPackage" });
    const overlong = await packageBytes({ validForSeconds: 5 * 366 * 86_400 });
    expect(await validateKeyPackage(overlong)).toMatchObject({ ok: false, reason: "badKeyPackage" });
    const fresh = await packageBytes();
    expect(
      await validateKeyPackage(fresh, {
        supportedCipherSuites: ["MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448"],
      }),
    ).toMatchObject({ ok: false, reason: "unsupported" });
    expect(await validateKeyPackage(new Uint8Array([1, 2, 3]))).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });
});

describe("frameKeyPackage", () => {
  let framed: Uint8Array;
  beforeAll(async () => {
    const cs = await loadCiphersuite();
    const { keyPackage } = await createKeyPackage({
      credential: basicCredential("bob"),
      signatureKeyPair: await generateSignatureKeyPair(cs),
      cipherSuite: cs,
    });
    framed = encodeKeyPackage(keyPackage);
  });

  it("keeps an MLSMessage-framed KeyPackage as it is", () => {
    const result = frameKeyPackage(framed);
    expect(result).toMatchObject({ ok: true, wasBare: false });
    expect(result.ok && result.framed).toEqual(framed);
  });

  it("frames a bare KeyPackage as the MLSMessage a framed one would be", async () => {
    // An MLSMessage is its version and wire format (two uint16) followed by the KeyPackage.
    const bare = framed.slice(4);
    const result = frameKeyPackage(bare);
    expect(result).toMatchObject({ ok: true, wasBare: true });
    if (!result.ok) return;
    expect(result.framed).toEqual(framed);
    expect(decodeKeyPackage(result.framed).ok).toBe(true);
    expect((await validateKeyPackage(result.framed)).ok).toBe(true);
  });

  it("refuses bytes that are neither, and a bare KeyPackage with bytes after it", () => {
    expect(frameKeyPackage(new Uint8Array([1, 2, 3]))).toMatchObject({ ok: false, reason: "malformed" });
    const trailing = new Uint8Array([...framed.slice(4), 0]);
    expect(frameKeyPackage(trailing)).toMatchObject({ ok: false, reason: "malformed" });
  });
});
