import { constants, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { InnerList } from "../src/index.js";
import { buildRfc9421SignatureBase, type KeyResolver, parseDictionary, verifyRequest } from "../src/index.js";
import {
  testKeyEd25519PrivatePem,
  testKeyEd25519PublicPem,
  testKeyRsaPssPublicPem,
  testKeyRsaPublicPem,
} from "./fixtures/rfc9421-keys.js";

// RFC 9421 Appendix B.2 `test-request`, as node:http would present it.
const body = new TextEncoder().encode('{"hello": "world"}');
const contentDigest =
  "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
const testRequestHeaders = {
  host: "example.com",
  date: "Tue, 20 Apr 2021 02:07:55 GMT",
  "content-type": "application/json",
  "content-digest": contentDigest,
  "content-length": "18",
};
const created = new Date(1618884473 * 1000);

const publicKeys: Record<string, KeyObject> = {
  "test-key-rsa": createPublicKey(testKeyRsaPublicPem),
  "test-key-rsa-pss": createPublicKey(testKeyRsaPssPublicPem),
  "test-key-ed25519": createPublicKey(testKeyEd25519PublicPem),
};

const vectorKeys: KeyResolver = {
  async resolve(keyId) {
    const publicKey = publicKeys[keyId];
    if (publicKey === undefined) return { ok: false, reason: "keyFetchError", detail: `unknown ${keyId}` };
    return { ok: true, key: { keyId, owner: `owner-of-${keyId}`, publicKey }, fromCache: false };
  },
};

function inputOf(signatureInput: string, label: string): InnerList {
  const member = parseDictionary(signatureInput).get(label);
  if (member?.kind !== "innerList") throw new Error("not an inner list");
  return member;
}

function bytesOf(signatureHeader: string, label: string): Buffer {
  const member = parseDictionary(signatureHeader).get(label);
  if (member?.kind !== "item" || member.value.type !== "bytes") throw new Error("not bytes");
  return Buffer.from(member.value.value);
}

const b21 = {
  input: 'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
  signature:
    "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
  base: '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
};

const b22 = {
  input:
    'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
  signature:
    "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
  base: [
    '"@authority": example.com',
    `"content-digest": ${contentDigest}`,
    '"@query-param";name="Pet": dog',
    '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
  ].join("\n"),
};

const b23 = {
  input:
    'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
  signature:
    "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
  base: [
    '"date": Tue, 20 Apr 2021 02:07:55 GMT',
    '"@method": POST',
    '"@path": /foo',
    '"@query": ?param=Value&Pet=dog',
    '"@authority": example.com',
    '"content-type": application/json',
    `"content-digest": ${contentDigest}`,
    '"content-length": 18',
    '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
  ].join("\n"),
};

const b26 = {
  input:
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  signature:
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
  base: [
    '"date": Tue, 20 Apr 2021 02:07:55 GMT',
    '"@method": POST',
    '"@path": /foo',
    '"@authority": example.com',
    '"content-type": application/json',
    '"content-length": 18',
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  ].join("\n"),
};

const testRequest = { method: "POST", path: "/foo?param=Value&Pet=dog", headers: testRequestHeaders };

function pssVerifies(base: string, signature: Buffer): boolean {
  return verify(
    "sha512",
    Buffer.from(base),
    {
      key: publicKeys["test-key-rsa-pss"] as KeyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 64,
    },
    signature,
  );
}

describe("RFC 9421 Appendix B.2 signature bases", () => {
  it.each([
    ["B.2.1", b21, "sig-b21"],
    ["B.2.2", b22, "sig-b22"],
    ["B.2.3", b23, "sig-b23"],
  ])(
    "%s rebuilds the published base, and the published rsa-pss-sha512 signature verifies over it",
    (_name, vector, label) => {
      const built = buildRfc9421SignatureBase(inputOf(vector.input, label), testRequest, { scheme: "https" });
      expect(built).toEqual({ ok: true, base: vector.base });
      expect(pssVerifies(vector.base, bytesOf(vector.signature, label))).toBe(true);
    },
  );

  it("B.2.6 rebuilds the published base, and signing it with test-key-ed25519 gives the published signature", () => {
    const built = buildRfc9421SignatureBase(inputOf(b26.input, "sig-b26"), testRequest, { scheme: "https" });
    expect(built).toEqual({ ok: true, base: b26.base });
    const signature = sign(null, Buffer.from(b26.base), createPrivateKey(testKeyEd25519PrivatePem));
    expect(signature.equals(bytesOf(b26.signature, "sig-b26"))).toBe(true);
  });
});

describe("verifyRequest on the RFC 9421 vectors", () => {
  it("accepts B.2.3 (rsa-pss-sha512, full coverage, sha-512 Content-Digest checked)", async () => {
    const outcome = await verifyRequest(
      {
        ...testRequest,
        headers: { ...testRequestHeaders, "signature-input": b23.input, signature: b23.signature },
        body,
      },
      vectorKeys,
      { now: created },
    );
    expect(outcome).toEqual({
      ok: true,
      keyId: "test-key-rsa-pss",
      keyOwner: "owner-of-test-key-rsa-pss",
      scheme: "rfc9421",
    });
  });

  it("rejects B.2.3 when the body was altered", async () => {
    const outcome = await verifyRequest(
      {
        ...testRequest,
        headers: { ...testRequestHeaders, "signature-input": b23.input, signature: b23.signature },
        body: new TextEncoder().encode('{"hello": "there"}'),
      },
      vectorKeys,
      { now: created },
    );
    expect(outcome).toMatchObject({ ok: false, reason: "digestMismatch" });
  });

  it("rejects B.2.3 once the signature is older than the window", async () => {
    const outcome = await verifyRequest(
      {
        ...testRequest,
        headers: { ...testRequestHeaders, "signature-input": b23.input, signature: b23.signature },
        body,
      },
      vectorKeys,
      { now: new Date((1618884473 + 2 * 3600) * 1000) },
    );
    expect(outcome).toMatchObject({ ok: false, reason: "dateOutOfWindow" });
  });

  it("applies Mastodon's rules to B.2.6: a POST without a signed digest is refused", async () => {
    const outcome = await verifyRequest(
      {
        ...testRequest,
        headers: { ...testRequestHeaders, "signature-input": b26.input, signature: b26.signature },
        body,
      },
      vectorKeys,
      { now: created },
    );
    expect(outcome).toMatchObject({ ok: false, reason: "missingDigest" });
  });

  it("refuses B.2.1 and B.2.2, which do not cover the method and path", async () => {
    for (const vector of [b21, b22]) {
      const outcome = await verifyRequest(
        {
          ...testRequest,
          headers: { ...testRequestHeaders, "signature-input": vector.input, signature: vector.signature },
          body,
        },
        vectorKeys,
        { now: created },
      );
      expect(outcome).toMatchObject({ ok: false, reason: "requestTargetNotSigned" });
    }
  });

  it("accepts the rsa-v1_5-sha256 proxy signature of section 4.3 next to an unusable first signature", async () => {
    const outcome = await verifyRequest(
      {
        method: "POST",
        path: "/foo?param=Value&Pet=dog",
        headers: {
          host: "origin.host.internal.example",
          date: "Tue, 20 Apr 2021 02:07:56 GMT",
          "content-type": "application/json",
          "content-length": "18",
          forwarded: "for=192.0.2.123;host=example.com;proto=https",
          "content-digest": contentDigest,
          "signature-input":
            'sig1=("@method" "@authority" "@path" "content-digest" "content-type" "content-length");created=1618884475;keyid="test-key-ecc-p256", proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540',
          signature:
            "sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+sNalzA8ESSaHD3A==:, proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:",
        },
        body,
      },
      vectorKeys,
      { now: new Date(1618884480 * 1000) },
    );
    expect(outcome).toEqual({
      ok: true,
      keyId: "test-key-rsa",
      keyOwner: "owner-of-test-key-rsa",
      scheme: "rfc9421",
    });
  });
});
