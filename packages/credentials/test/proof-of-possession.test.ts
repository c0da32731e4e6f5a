import { describe, expect, it } from "vitest";
import {
  createChallenge,
  proofOfPossessionMessage,
  signProofOfPossession,
  verifyProofOfPossession,
} from "../src/index.js";
import { generateClientKey } from "./fixtures.js";

describe("proof of possession", () => {
  const key = generateClientKey();
  const { challenge } = createChallenge();
  const fields = { challenge, user: "alice", domain: "a.test", clientId: "phone-1" };

  it("creates distinct 32-byte base64url challenges", () => {
    const other = createChallenge().challenge;
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(challenge, "base64url")).toHaveLength(32);
    expect(other).not.toBe(challenge);
  });

  it("signs the documented byte string", () => {
    expect(new TextDecoder().decode(proofOfPossessionMessage(fields))).toBe(
      `mimi-credential-request\na.test\nalice\nphone-1\n${challenge}`,
    );
  });

  it("accepts a proof signed with the key being certified", () => {
    const signature = signProofOfPossession(key.privateKey, fields);
    expect(verifyProofOfPossession({ ...fields, signaturePublicKey: key.publicKey, signature })).toBe(true);
  });

  it("accepts raw-seed and PKCS#8 private keys as well as KeyObjects", () => {
    const pkcs8 = new Uint8Array(key.privateKey.export({ format: "der", type: "pkcs8" }));
    const seed = pkcs8.slice(-32);
    for (const privateKey of [pkcs8, seed]) {
      const signature = signProofOfPossession(privateKey, fields);
      expect(verifyProofOfPossession({ ...fields, signaturePublicKey: key.publicKey, signature })).toBe(true);
    }
  });

  it("rejects a proof for other fields, another key, another challenge or a damaged signature", () => {
    const signature = signProofOfPossession(key.privateKey, fields);
    const proof = { ...fields, signaturePublicKey: key.publicKey, signature };
    expect(verifyProofOfPossession({ ...proof, user: "mallory" })).toBe(false);
    expect(verifyProofOfPossession({ ...proof, domain: "b.test" })).toBe(false);
    expect(verifyProofOfPossession({ ...proof, clientId: "phone-2" })).toBe(false);
    expect(verifyProofOfPossession({ ...proof, challenge: createChallenge().challenge })).toBe(false);
    expect(verifyProofOfPossession({ ...proof, signaturePublicKey: generateClientKey().publicKey })).toBe(
      false,
    );
    const damaged = signature.slice();
    damaged[10] = (damaged[10] ?? 0) ^ 1;
    expect(verifyProofOfPossession({ ...proof, signature: damaged })).toBe(false);
    expect(verifyProofOfPossession({ ...proof, signature: signature.slice(0, 63) })).toBe(false);
  });

  it("rejects fields that could make the signed string ambiguous", () => {
    expect(() => signProofOfPossession(key.privateKey, { ...fields, user: "alice\na.test" })).toThrow();
    const signature = signProofOfPossession(key.privateKey, fields);
    expect(
      verifyProofOfPossession({
        ...fields,
        challenge: "short",
        signaturePublicKey: key.publicKey,
        signature,
      }),
    ).toBe(false);
  });
});
