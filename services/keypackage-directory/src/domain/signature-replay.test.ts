import { generateKeyPairSync, sign } from "node:crypto";
import {
  buildCavageSigningString,
  buildRfc9421SignatureBase,
  contentDigestHeaderFor,
  digestHeaderFor,
  type KeyResolver,
  parseDictionary,
  type ReceivedRequest,
  signRequest,
  type VerifiedSignature,
  verifyRequest,
} from "@mimi/http-signatures";
import { describe, expect, it } from "vitest";
import {
  acceptedUntilSeconds,
  DEFAULT_SIGNATURE_LIFETIME_SECONDS,
  MAX_SIGNATURE_LIFETIME_SECONDS,
  signatureReplayKey,
  signatureUses,
} from "./signature-replay.js";

const owner = "https://c.example/users/carol";
const keyId = `${owner}#main-key`;
const aliasKeyId = `${owner}#same-key-other-id`;
const pair = generateKeyPairSync("ed25519");
// The actor publishes its key under two ids (or someone copied the public key into their own actor).
const keys: KeyResolver = {
  resolve: async (id) =>
    id === keyId || id === aliasKeyId
      ? { ok: true, key: { keyId: id, owner, publicKey: pair.publicKey }, fromCache: false }
      : { ok: false, reason: "keyFetchError", detail: `unknown key ${id}` },
};

const SKEW = 3600;
const signedAt = 1_750_000_000;
const path = "/users/bob/keyPackages/claim";
const url = `https://b.example${path}`;
const body = JSON.stringify({ ciphersuites: [1] });

function cavageClaim(atSeconds = signedAt): ReceivedRequest {
  const headers = signRequest(
    { method: "POST", url, headers: { "content-type": "application/activity+json" }, body },
    { keyId, privateKey: pair.privateKey },
    { now: new Date(atSeconds * 1000) },
  );
  return { method: "POST", path, headers, body: Buffer.from(body) };
}

function withSignature(request: ReceivedRequest, signature: string): ReceivedRequest {
  return { ...request, headers: { ...request.headers, signature } };
}

function signatureHeaderOf(request: ReceivedRequest): string {
  return String(request.headers.signature);
}

async function verifiedAt(request: ReceivedRequest, nowSeconds: number): Promise<VerifiedSignature> {
  const verified = await verifyRequest(request, keys, {
    now: new Date(nowSeconds * 1000),
    clockSkewSeconds: SKEW,
  });
  if (!verified.ok) throw new Error(`${verified.reason}: ${verified.detail}`);
  return verified;
}

async function usesAt(request: ReceivedRequest, nowSeconds: number) {
  return signatureUses(request.headers, await verifiedAt(request, nowSeconds), nowSeconds, SKEW);
}

/** The verifier accepts the request through `acceptedUntil` and refuses it one second later. */
async function expectVerifierWindowEnds(request: ReceivedRequest, acceptedUntil: number): Promise<void> {
  await verifiedAt(request, acceptedUntil);
  const late = await verifyRequest(request, keys, {
    now: new Date((acceptedUntil + 1) * 1000),
    clockSkewSeconds: SKEW,
  });
  expect(late).toMatchObject({ ok: false, reason: "dateOutOfWindow" });
}

function bytesOfCavage(request: ReceivedRequest): Uint8Array {
  const match = /signature="([^"]+)"/.exec(signatureHeaderOf(request));
  return new Uint8Array(Buffer.from(match?.[1] ?? "", "base64"));
}

describe("draft-cavage claim signatures", () => {
  it("mark the signature for exactly as long as the verifier accepts it", async () => {
    const request = cavageClaim();
    const acceptedUntil = signedAt + DEFAULT_SIGNATURE_LIFETIME_SECONDS + SKEW;
    await expectVerifierWindowEnds(request, acceptedUntil);
    expect(await usesAt(request, signedAt)).toEqual({
      ok: true,
      uses: [{ key: signatureReplayKey(bytesOfCavage(request)), ttlSeconds: acceptedUntil - signedAt + 1 }],
    });
    expect(await usesAt(request, acceptedUntil)).toMatchObject({ ok: true, uses: [{ ttlSeconds: 1 }] });
  });

  it("give a replay under another key id, or with the signature's base64 spelled otherwise, the same key", async () => {
    const request = cavageClaim();
    const original = await usesAt(request, signedAt);
    const header = signatureHeaderOf(request);
    const otherId = withSignature(request, header.replace(keyId, aliasKeyId));
    expect((await verifiedAt(otherId, signedAt)).keyId).toBe(aliasKeyId);
    expect(await usesAt(otherId, signedAt)).toEqual(original);

    // A 64-byte Ed25519 signature ends in "==": the last character's low four bits are padding.
    const encoded = /signature="([^"]+)"/.exec(header)?.[1] ?? "";
    expect(encoded.endsWith("==")).toBe(true);
    const last = encoded.at(-3) ?? "";
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const respelled = `${encoded.slice(0, -3)}${alphabet[alphabet.indexOf(last) ^ 1]}==`;
    const reencoded = withSignature(request, header.replace(encoded, respelled));
    await verifiedAt(reencoded, signedAt);
    expect(await usesAt(reencoded, signedAt)).toEqual(original);
  });

  it("give two signatures of the same claim by the same key different keys", async () => {
    const first = await usesAt(cavageClaim(signedAt), signedAt + 1);
    const second = await usesAt(cavageClaim(signedAt + 1), signedAt + 1);
    expect(first.ok && second.ok && first.uses[0]?.key !== second.uses[0]?.key).toBe(true);
  });

  it("count an expires parameter only when it is signed, and never beyond twelve hours", async () => {
    const hs2019 = (created: number, expires: number) => {
      const headers = {
        host: "b.example",
        digest: digestHeaderFor(body),
        "content-type": "application/activity+json",
      };
      const params = {
        keyId,
        algorithm: "hs2019",
        headers: ["(request-target)", "host", "(created)", "(expires)", "digest"],
        signature: new Uint8Array(0),
        created,
        expires,
      };
      const text = buildCavageSigningString(params, { method: "POST", headers }, path);
      if (!text.ok) throw new Error(text.detail);
      const signature = sign(null, Buffer.from(text.text), pair.privateKey).toString("base64");
      return {
        method: "POST",
        path,
        body: Buffer.from(body),
        headers: {
          ...headers,
          signature: `keyId="${keyId}",algorithm="hs2019",headers="${params.headers.join(" ")}",created=${created},expires=${expires},signature="${signature}"`,
        },
      };
    };
    const eightHours = hs2019(signedAt, signedAt + 8 * 3600);
    const until = acceptedUntilSeconds(signedAt, signedAt + 8 * 3600, SKEW);
    expect(until).toBe(signedAt + 8 * 3600 + SKEW);
    await expectVerifierWindowEnds(eightHours, until);
    expect(await usesAt(eightHours, signedAt + 6 * 3600)).toMatchObject({
      ok: true,
      uses: [{ ttlSeconds: until - (signedAt + 6 * 3600) + 1 }],
    });

    const tooLong = hs2019(signedAt, signedAt + 20 * 3600);
    const capped = signedAt + MAX_SIGNATURE_LIFETIME_SECONDS + SKEW;
    expect(acceptedUntilSeconds(signedAt, signedAt + 20 * 3600, SKEW)).toBe(capped);
    await expectVerifierWindowEnds(tooLong, capped);
  });

  it("refuse a signature that only an unsigned expires would keep acceptable", () => {
    const request = cavageClaim();
    const stretched = withSignature(
      request,
      `${signatureHeaderOf(request)},expires=${signedAt + MAX_SIGNATURE_LIFETIME_SECONDS}`,
    );
    const verified: VerifiedSignature = { ok: true, keyId, keyOwner: owner, scheme: "cavage" };
    const twoHoursLater = signedAt + 2 * 3600;
    expect(signatureUses(stretched.headers, verified, twoHoursLater, SKEW)).toMatchObject({
      ok: false,
      reason: "dateOutOfWindow",
    });
    // Within the default window it is marked for the default window, not twelve hours.
    expect(signatureUses(stretched.headers, verified, signedAt, SKEW)).toMatchObject({
      ok: true,
      uses: [{ ttlSeconds: DEFAULT_SIGNATURE_LIFETIME_SECONDS + SKEW + 1 }],
    });
  });
});

describe("RFC 9421 claim signatures", () => {
  const covered = `("@method" "@target-uri" "content-digest")`;
  const baseHeaders = { host: "b.example", "content-digest": contentDigestHeaderFor(body) };

  /** Signs `params` as `label`; returns the Signature-Input and Signature members. */
  function member(label: string, params: string): { input: string; signature: string; bytes: Uint8Array } {
    const input = `${label}=${covered}${params}`;
    const parsed = parseDictionary(input).get(label);
    if (parsed?.kind !== "innerList") throw new Error("bad input");
    const base = buildRfc9421SignatureBase(
      parsed,
      { method: "POST", path, headers: baseHeaders },
      {
        scheme: "https",
      },
    );
    if (!base.ok) throw new Error(base.detail);
    const bytes = new Uint8Array(sign(null, Buffer.from(base.base), pair.privateKey));
    return { input, signature: `${label}=:${Buffer.from(bytes).toString("base64")}:`, bytes };
  }

  function decoy(label: string, id = keyId): { input: string; signature: string; bytes: Uint8Array } {
    const bytes = new Uint8Array(64).fill(label.length);
    return {
      input: `${label}=${covered};created=${signedAt};keyid="${id}"`,
      signature: `${label}=:${Buffer.from(bytes).toString("base64")}:`,
      bytes,
    };
  }

  function request(members: Array<{ input: string; signature: string }>): ReceivedRequest {
    return {
      method: "POST",
      path,
      body: Buffer.from(body),
      headers: {
        ...baseHeaders,
        "signature-input": members.map((m) => m.input).join(", "),
        signature: members.map((m) => m.signature).join(", "),
      },
    };
  }

  it("mark the verified signature for as long as its covered created/expires allow", async () => {
    const real = member("sig1", `;created=${signedAt};expires=${signedAt + 3600};keyid="${keyId}"`);
    const single = request([real]);
    const until = signedAt + 3600 + SKEW;
    await expectVerifierWindowEnds(single, until);
    expect(await usesAt(single, signedAt)).toEqual({
      ok: true,
      uses: [{ key: signatureReplayKey(real.bytes), ttlSeconds: until - signedAt + 1 }],
    });
  });

  it("still meet a stolen signature when decoys are put in front of it", async () => {
    const real = member("sig9", `;created=${signedAt};keyid="${keyId}"`);
    const replay = request([decoy("a"), decoy("bb", "https://other.example/actor#key"), real]);
    const uses = await usesAt(replay, signedAt);
    if (!uses.ok) throw new Error(uses.detail);
    const marked = uses.uses.map((use) => use.key);
    expect(marked).toContain(signatureReplayKey(real.bytes));
    // A decoy under another keyid could not be the one that verified: not marked.
    expect(marked).not.toContain(signatureReplayKey(decoy("bb").bytes));
    expect(marked).toHaveLength(2);
  });

  it("mark only the signatures the verifier examines, each signature once", async () => {
    const real = member("sig1", `;created=${signedAt};keyid="${keyId}"`);
    const sameBytes = {
      input: real.input.replace("sig1=", "sig2="),
      signature: real.signature.replace("sig1=", "sig2="),
    };
    const uses = await usesAt(request([real, sameBytes, decoy("ccc"), decoy("dddd")]), signedAt);
    if (!uses.ok) throw new Error(uses.detail);
    expect(uses.uses.map((use) => use.key)).toEqual([
      signatureReplayKey(real.bytes),
      signatureReplayKey(decoy("ccc").bytes),
    ]);
  });
});
