import { describe, expect, it } from "vitest";
import { providerBaseUrl } from "../remote-claim.js";
import {
  ciphersuiteId,
  ciphersuiteName,
  claimableCiphersuites,
  parseCiphersuiteList,
} from "./ciphersuites.js";
import { claimCollection, parseClaimCollection } from "./claim-document.js";
import { ciphersuiteListSchema, parseClaimRequest } from "./claim-request.js";
import { countsByClient } from "./counts.js";

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("ciphersuites", () => {
  it("maps names and numbers both ways", () => {
    expect(ciphersuiteId("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519")).toBe(1);
    expect(ciphersuiteId(7)).toBe(7);
    expect(ciphersuiteId("MLS_UNKNOWN")).toBeUndefined();
    expect(ciphersuiteId(0)).toBeUndefined();
    expect(ciphersuiteName(2)).toBe("MLS_128_DHKEMP256_AES128GCM_SHA256_P256");
    expect(ciphersuiteName(0x1234)).toBe("0x1234");
  });

  it("parses the configured list and refuses unknown entries", () => {
    expect(parseCiphersuiteList(["1", "MLS_128_DHKEMP256_AES128GCM_SHA256_P256", "1"])).toEqual({
      ok: true,
      ids: [1, 2],
    });
    expect(parseCiphersuiteList(["99"]).ok).toBe(false);
    expect(parseCiphersuiteList([]).ok).toBe(false);
  });

  it("keeps the requester's order and drops what this directory does not serve", () => {
    expect(
      claimableCiphersuites([3, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519", "junk", 3], [1, 3]),
    ).toEqual([3, 1]);
    expect(claimableCiphersuites(["junk", 2], [1])).toEqual([]);
  });
});

describe("claim documents", () => {
  it("round-trips a collection and reports malformed items by index", () => {
    const document = claimCollection(
      "https://a.example/users/alice",
      [{ clientId: "c1", ciphersuite: 1, content: new Uint8Array([1, 2, 3]), lastResort: true }],
      [{ clientId: "c2", reason: "noKeyPackages", detail: "none left" }],
    );
    expect(document.items[0]).toEqual({
      type: "KeyPackage",
      mediaType: "message/mls",
      encoding: "base64",
      content: "AQID",
      ciphersuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
      "mimi:client": "c1",
      "mimi:lastResort": true,
    });
    const parsed = parseClaimCollection({ ...document, items: [...document.items, { type: "Note" }] });
    expect(parsed).toMatchObject({
      ok: true,
      malformed: [1],
      unavailable: [{ clientId: "c2", reason: "noKeyPackages" }],
    });
    expect(parsed.ok && parsed.items[0]).toMatchObject({ clientId: "c1", lastResort: true });
    expect(parseClaimCollection({ type: "Person" }).ok).toBe(false);
  });

  it("parses claim request bodies", () => {
    expect(parseClaimRequest(bytes({ ciphersuites: ["X", 1] }))).toEqual({
      ok: true,
      ciphersuites: ["X", 1],
    });
    expect(parseClaimRequest(bytes({ ciphersuites: [] })).ok).toBe(false);
    expect(parseClaimRequest(bytes({ ciphersuites: [1.5] })).ok).toBe(false);
    expect(parseClaimRequest(new TextEncoder().encode("{")).ok).toBe(false);
  });

  it("accepts and refuses claim bodies exactly as the schema does, and words the refusal", () => {
    const cases: unknown[] = [
      { ciphersuites: [1, "MLS_X", 65535], extra: true },
      { ciphersuites: Array.from({ length: 32 }, () => 1) },
      { ciphersuites: Array.from({ length: 33 }, () => 1) },
      { ciphersuites: [0] },
      { ciphersuites: [65536] },
      { ciphersuites: [""] },
      { ciphersuites: ["x".repeat(100)] },
      { ciphersuites: ["x".repeat(101)] },
      { ciphersuites: [null] },
      { ciphersuites: "1" },
      [{ ciphersuites: [1] }],
      null,
      7,
    ];
    for (const body of cases) {
      const schema = ciphersuiteListSchema.safeParse(
        (body as { ciphersuites?: unknown } | null)?.ciphersuites,
      );
      const isObject = typeof body === "object" && body !== null && !Array.isArray(body);
      const parsed = parseClaimRequest(bytes(body));
      expect(parsed.ok, JSON.stringify(body)).toBe(isObject && schema.success);
    }
    expect(parseClaimRequest(bytes({ ciphersuites: [0] }))).toEqual({
      ok: false,
      detail: expect.stringMatching(/^ciphersuites\.0: /),
    });
    expect(parseClaimRequest(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      detail: "the body is not JSON",
    });
  });
});

describe("counts", () => {
  it("counts single-use KeyPackages per client and suite, ignoring removed clients", () => {
    const counts = countsByClient(
      ["c1", "c2"],
      [
        { clientId: "c1", ciphersuite: 1, id: "k1", lastResort: false },
        { clientId: "c1", ciphersuite: 1, id: "k2", lastResort: true },
        { clientId: "gone", ciphersuite: 1, id: "k3", lastResort: false },
      ],
    );
    expect(counts).toEqual([
      {
        clientId: "c1",
        available: 1,
        hasLastResort: true,
        ciphersuites: { MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: 1 },
        keyPackageIds: ["k1"],
      },
      { clientId: "c2", available: 0, hasLastResort: false, ciphersuites: {}, keyPackageIds: [] },
    ]);
  });
});

describe("provider base URLs", () => {
  it("uses https unless the development mapping names the host", () => {
    const mapping = new Map([["b.test", "127.0.0.1:9000"]]);
    expect(providerBaseUrl("b.test", mapping)).toBe("http://b.test");
    expect(providerBaseUrl("b.example", mapping)).toBe("https://b.example");
  });
});
