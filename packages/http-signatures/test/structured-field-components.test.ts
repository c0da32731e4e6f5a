import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildRfc9421SignatureBase, type KeyResolver, parseDictionary, verifyRequest } from "../src/index.js";
import type { InnerList } from "../src/structured-fields.js";

function inputOf(text: string): InnerList {
  const member = parseDictionary(`sig1=${text}`).get("sig1");
  if (member?.kind !== "innerList") throw new Error("not an inner list");
  return member;
}

const request = (headers: Record<string, string>) => ({ method: "POST", path: "/inbox", headers });

describe("RFC 9421 header components with ;sf (strict structured-field serialisation)", () => {
  it("re-serialises an Item (content-type) with its parameters", () => {
    const base = buildRfc9421SignatureBase(
      inputOf('("content-type";sf);created=1'),
      request({ "content-type": 'application/ld+json;  profile="https://www.w3.org/ns/activitystreams"' }),
      { scheme: "https" },
    );
    expect(base).toEqual({
      ok: true,
      base:
        '"content-type";sf: application/ld+json;profile="https://www.w3.org/ns/activitystreams"\n' +
        '"@signature-params": ("content-type";sf);created=1',
    });
  });

  it("re-serialises a Dictionary (content-digest) and a List (accept)", () => {
    const base = buildRfc9421SignatureBase(
      inputOf('("content-digest";sf "accept";sf)'),
      request({
        "content-digest": "sha-256=:AAAA:,   sha-512=:BBBB:",
        accept: "application/activity+json,text/html;q=0.5",
      }),
      { scheme: "https" },
    );
    expect(base.ok && base.base.split("\n").slice(0, 2)).toEqual([
      '"content-digest";sf: sha-256=:AAAA:, sha-512=:BBBB:',
      '"accept";sf: application/activity+json, text/html;q=0.5',
    ]);
  });

  it("refuses ;sf on a field of unknown type, a malformed value, and a false sf", () => {
    const unknown = buildRfc9421SignatureBase(inputOf('("date";sf)'), request({ date: "x" }), {
      scheme: "https",
    });
    expect(unknown).toMatchObject({ ok: false, detail: expect.stringMatching(/not a structured field/) });
    const malformed = buildRfc9421SignatureBase(
      inputOf('("content-type";sf)'),
      request({ "content-type": "text/html, text/plain" }),
      { scheme: "https" },
    );
    expect(malformed).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/not a valid structured item/),
    });
    const falseSf = buildRfc9421SignatureBase(
      inputOf('("content-type";sf=?0)'),
      request({ "content-type": "a/b" }),
      {
        scheme: "https",
      },
    );
    expect(falseSf.ok).toBe(false);
    const otherParam = buildRfc9421SignatureBase(
      inputOf('("content-type";bs)'),
      request({ "content-type": "a/b" }),
      {
        scheme: "https",
      },
    );
    expect(otherParam).toMatchObject({ ok: false, detail: expect.stringMatching(/;bs is not supported/) });
  });

  it("a signature over content-type;sf verifies, and not with the field's value changed", async () => {
    const pair = generateKeyPairSync("ed25519");
    const keys: KeyResolver = {
      async resolve(keyId) {
        return { ok: true, key: { keyId, owner: "https://b.test/users/bob", publicKey: pair.publicKey } };
      },
    };
    const created = 1_764_669_600;
    const input = `("@method" "@target-uri" "content-type";sf "content-digest");created=${created};keyid="https://b.test/users/bob#ed25519-key";alg="ed25519"`;
    const headers = {
      host: "a.test",
      "content-type": "application/activity+json; charset=utf-8",
      "content-digest": "sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:",
      "signature-input": `sig1=${input}`,
    };
    const built = buildRfc9421SignatureBase(inputOf(input), request(headers), { scheme: "https" });
    if (!built.ok) throw new Error(built.detail);
    expect(built.base).toContain('"content-type";sf: application/activity+json;charset=utf-8');
    const signature = sign(null, Buffer.from(built.base), pair.privateKey).toString("base64");
    const body = new TextEncoder().encode("{}");
    const now = new Date(created * 1000);
    const signed = { ...request({ ...headers, signature: `sig1=:${signature}:` }), body };
    expect(await verifyRequest(signed, keys, { now })).toMatchObject({ ok: true, scheme: "rfc9421" });
    const changed = { ...signed, headers: { ...signed.headers, "content-type": "text/plain" } };
    expect(await verifyRequest(changed, keys, { now })).toMatchObject({
      ok: false,
      reason: "invalidSignature",
    });
  });
});
