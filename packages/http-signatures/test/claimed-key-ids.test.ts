import { describe, expect, it } from "vitest";
import { claimedKeyIds, claimedKeyOrigin } from "../src/index.js";

describe("claimedKeyIds", () => {
  it("reads the key id of draft-cavage and of each examined RFC 9421 signature", () => {
    expect(
      claimedKeyIds({
        signature: 'keyId="https://a.example/users/x#main-key",headers="date",signature="AA=="',
      }),
    ).toEqual(["https://a.example/users/x#main-key"]);
    expect(
      claimedKeyIds({
        "signature-input":
          'a=("@method");keyid="https://b.example/1", b=("@method");keyid="https://c.example/2"',
      }),
    ).toEqual(["https://b.example/1", "https://c.example/2"]);
  });

  it("looks at no more RFC 9421 signatures than the verifier would", () => {
    const members = ["a", "b", "c", "d"].map(
      (label) => `${label}=("@method");keyid="https://${label}.example/k"`,
    );
    expect(claimedKeyIds({ "signature-input": members.join(", ") })).toHaveLength(3);
  });

  it("gives none for headers that do not parse", () => {
    expect(claimedKeyIds({})).toEqual([]);
    expect(claimedKeyIds({ "signature-input": "((((" })).toEqual([]);
    expect(claimedKeyIds({ signature: 'headers="date"' })).toEqual([]);
  });
});

describe("claimedKeyOrigin", () => {
  it("reads the key's origin from draft-cavage and RFC 9421 headers", () => {
    expect(
      claimedKeyOrigin({
        signature: 'keyId="https://a.example/users/x#main-key",headers="date",signature="AA=="',
      }),
    ).toBe("https://a.example");
    expect(
      claimedKeyOrigin({
        "signature-input": 'sig1=("@method");created=1;keyid="https://b.example:8443/actor#k"',
      }),
    ).toBe("https://b.example:8443");
  });

  it("gives nothing for a missing or unusable key id", () => {
    expect(claimedKeyOrigin({})).toBeUndefined();
    expect(claimedKeyOrigin({ signature: 'keyId="not a url",signature="AA=="' })).toBeUndefined();
    expect(claimedKeyOrigin({ signature: 'headers="date"' })).toBeUndefined();
  });
});
