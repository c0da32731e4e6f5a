import { constants, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type KeyResolver, type ReceivedRequest, verifyRequest } from "../src/index.js";

/**
 * hs2019 from an RSA key: Mastodon signs it as RSASSA-PKCS1-v1_5 with SHA-256, the cavage draft that
 * named it as RSASSA-PSS with SHA-512. Both verify; a signature by another key does not.
 */

const dave = generateKeyPairSync("rsa", { modulusLength: 2048 });
const mallory = generateKeyPairSync("rsa", { modulusLength: 2048 });
const keyId = "https://pss.example/users/dave#main-key";
const keys: KeyResolver = {
  async resolve(id) {
    return {
      ok: true,
      key: { keyId: id, owner: "https://pss.example/users/dave", publicKey: dave.publicKey },
      fromCache: false,
    };
  },
};
const date = new Date().toUTCString();
const signingString = ["(request-target): get /users/bob", "host: remote.example", `date: ${date}`].join(
  "\n",
);

type Signer = (data: Buffer, privateKey: KeyObject) => Buffer;
const pkcs1Sha256: Signer = (data, privateKey) => sign("sha256", data, privateKey);
const pssSha512: Signer = (data, privateKey) =>
  sign("sha512", data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });

function hs2019Get(signer: Signer, privateKey: KeyObject): ReceivedRequest {
  const signature = signer(Buffer.from(signingString), privateKey).toString("base64");
  return {
    method: "GET",
    path: "/users/bob",
    headers: {
      host: "remote.example",
      date,
      signature: `keyId="${keyId}",algorithm="hs2019",headers="(request-target) host date",signature="${signature}"`,
    },
  };
}

describe("hs2019 signatures from an RSA key", () => {
  it("verify as RSASSA-PKCS1-v1_5 with SHA-256, as Mastodon signs them", async () => {
    expect((await verifyRequest(hs2019Get(pkcs1Sha256, dave.privateKey), keys)).ok).toBe(true);
  });

  it("verify as RSASSA-PSS with SHA-512, as the draft that named hs2019 signs them", async () => {
    expect((await verifyRequest(hs2019Get(pssSha512, dave.privateKey), keys)).ok).toBe(true);
  });

  it("do not verify when another key signed, in either form", async () => {
    for (const signer of [pkcs1Sha256, pssSha512]) {
      expect(await verifyRequest(hs2019Get(signer, mallory.privateKey), keys)).toMatchObject({
        ok: false,
        reason: "invalidSignature",
      });
    }
  });
});
