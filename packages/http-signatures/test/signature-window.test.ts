import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildRfc9421SignatureBase,
  type KeyResolver,
  parseDictionary,
  type ReceivedRequest,
  verifyRequest,
} from "../src/index.js";
import { mastodonPublicKey, mastodonVectors } from "./mastodon-vectors.js";

/** Only parameters the signature covers may set its time window. */

const vectors = mastodonVectors;

function keysFor(owner: string, publicKey: KeyObject): KeyResolver {
  return {
    async resolve(keyId) {
      return { ok: true, key: { keyId, owner, publicKey }, fromCache: false };
    },
  };
}

const hours = (count: number) => count * 60 * 60;

describe("draft-cavage: unsigned created/expires never set the window", () => {
  const signedAtSeconds = Math.floor(Date.parse(vectors.date) / 1000);
  const threeHoursLater = { now: new Date((signedAtSeconds + hours(3)) * 1000) };
  const mastodonKeys = keysFor(vectors.owner, mastodonPublicKey);

  function mastodonPost(extraParams: string): ReceivedRequest {
    return {
      method: "POST",
      path: vectors.post.path,
      headers: {
        host: "remote.example",
        date: vectors.date,
        digest: vectors.post.digest,
        "content-type": vectors.post.contentType,
        signature: `keyId="${vectors.keyId}",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="${vectors.post.signature}"${extraParams}`,
      },
      body: new TextEncoder().encode(vectors.post.body),
    };
  }

  it("a Mastodon POST whose Date is three hours old is out of the window", async () => {
    expect(await verifyRequest(mastodonPost(""), mastodonKeys, threeHoursLater)).toMatchObject({
      reason: "dateOutOfWindow",
    });
  });

  it("an appended, unsigned expires= does not stretch it", async () => {
    const stretched = mastodonPost(`,expires=${signedAtSeconds + hours(12)}`);
    expect(await verifyRequest(stretched, mastodonKeys, threeHoursLater)).toMatchObject({
      reason: "dateOutOfWindow",
    });
    // The same header is fine within the default window: the parameter is ignored, not refused.
    expect((await verifyRequest(stretched, mastodonKeys, { now: new Date(vectors.date) })).ok).toBe(true);
  });

  const carol = generateKeyPairSync("ed25519");
  const carolKeyId = "https://ed.example/users/carol#main-key";
  const carolKeys = keysFor("https://ed.example/users/carol", carol.publicKey);
  const createdSeconds = 1735689600;
  const date = new Date(createdSeconds * 1000).toUTCString();

  /** An hs2019 GET signed over `signedLines` (after request-target and host). */
  function hs2019Get(headersList: string, signedLines: string[], params: string): ReceivedRequest {
    const signingString = ["(request-target): get /users/bob", "host: remote.example", ...signedLines].join(
      "\n",
    );
    const signature = sign(null, Buffer.from(signingString), carol.privateKey).toString("base64");
    return {
      method: "GET",
      path: "/users/bob",
      headers: {
        host: "remote.example",
        date,
        signature: `keyId="${carolKeyId}",algorithm="hs2019",headers="(request-target) host ${headersList}"${params},signature="${signature}"`,
      },
    };
  }

  it("a signed (expires) is honoured (up to the 12 h maximum)", async () => {
    const request = hs2019Get(
      "(created) (expires)",
      [`(created): ${createdSeconds}`, `(expires): ${createdSeconds + hours(6)}`],
      `,created=${createdSeconds},expires=${createdSeconds + hours(6)}`,
    );
    const at = (offsetSeconds: number) => ({ now: new Date((createdSeconds + offsetSeconds) * 1000) });
    expect((await verifyRequest(request, carolKeys, at(hours(3)))).ok).toBe(true);
    expect(await verifyRequest(request, carolKeys, at(hours(6) + hours(1) + 1))).toMatchObject({
      reason: "dateOutOfWindow",
    });
  });

  it("an unsigned expires next to a signed (created) does not stretch the window", async () => {
    const request = hs2019Get(
      "(created)",
      [`(created): ${createdSeconds}`],
      `,created=${createdSeconds},expires=${createdSeconds + hours(6)}`,
    );
    const threeHours = { now: new Date((createdSeconds + hours(3)) * 1000) };
    expect(await verifyRequest(request, carolKeys, threeHours)).toMatchObject({ reason: "dateOutOfWindow" });
  });

  it("a created parameter that is present but not signed does not replace the signed Date", async () => {
    const threeHoursLaterSeconds = createdSeconds + hours(3);
    const request = hs2019Get("date", [`date: ${date}`], `,created=${threeHoursLaterSeconds}`);
    expect(
      await verifyRequest(request, carolKeys, { now: new Date(threeHoursLaterSeconds * 1000) }),
    ).toMatchObject({ reason: "dateOutOfWindow" });
    expect((await verifyRequest(request, carolKeys, { now: new Date(createdSeconds * 1000) })).ok).toBe(true);
  });
});

describe("RFC 9421: created/expires count because the signature base covers them", () => {
  const pair = generateKeyPairSync("ed25519");
  const keyId = "https://ed.example/users/carol#main-key";
  const keys = keysFor("https://ed.example/users/carol", pair.publicKey);
  const createdSeconds = 1740830400;
  const threeHoursLater = { now: new Date((createdSeconds + hours(3)) * 1000) };

  function signedGet(params: string): ReceivedRequest & { base: string } {
    const headers = { host: "remote.example", "signature-input": `sig1=("@method" "@target-uri")${params}` };
    const request = { method: "GET", path: "/users/bob", headers };
    const member = parseDictionary(headers["signature-input"]).get("sig1");
    if (member?.kind !== "innerList") throw new Error("bad input");
    const base = buildRfc9421SignatureBase(member, request, { scheme: "https" });
    if (!base.ok) throw new Error(base.detail);
    const signature = sign(null, Buffer.from(base.base), pair.privateKey).toString("base64");
    return { ...request, headers: { ...headers, signature: `sig1=:${signature}:` }, base: base.base };
  }

  it("the signature base's last line carries created and expires", () => {
    const { base } = signedGet(`;created=${createdSeconds};expires=${createdSeconds + 60};keyid="${keyId}"`);
    expect(base.split("\n").at(-1)).toBe(
      `"@signature-params": ("@method" "@target-uri");created=${createdSeconds};expires=${createdSeconds + 60};keyid="${keyId}"`,
    );
  });

  it("a signed expires is honoured", async () => {
    const request = signedGet(
      `;created=${createdSeconds};expires=${createdSeconds + hours(6)};keyid="${keyId}"`,
    );
    expect((await verifyRequest(request, keys, threeHoursLater)).ok).toBe(true);
  });

  it("an expires added to Signature-Input after signing breaks the signature", async () => {
    const request = signedGet(`;created=${createdSeconds};keyid="${keyId}"`);
    expect(await verifyRequest(request, keys, threeHoursLater)).toMatchObject({ reason: "dateOutOfWindow" });
    const stretched = {
      ...request,
      headers: {
        ...request.headers,
        "signature-input": `${request.headers["signature-input"]};expires=${createdSeconds + hours(6)}`,
      },
    };
    expect(await verifyRequest(stretched, keys, threeHoursLater)).toMatchObject({
      reason: "invalidSignature",
    });
  });

  it("created/expires on the Signature member (not covered) are ignored", async () => {
    const request = signedGet(`;created=${createdSeconds};keyid="${keyId}"`);
    const withMemberParams = {
      ...request,
      headers: {
        ...request.headers,
        signature: `${request.headers.signature};created=${createdSeconds + hours(3)};expires=${createdSeconds + hours(6)}`,
      },
    };
    expect(await verifyRequest(withMemberParams, keys, threeHoursLater)).toMatchObject({
      reason: "dateOutOfWindow",
    });
  });
});
