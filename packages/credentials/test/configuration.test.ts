import { describe, expect, it } from "vitest";
import {
  buildMimiConfiguration,
  createIssuersFetcher,
  issueClientCertificate,
  type MimiConfiguration,
  mimiConfigurationUrl,
  parseMimiConfiguration,
  verifyClientCredential,
} from "../src/index.js";
import { generateClientKey, newDomainCa } from "./fixtures.js";

const { ca: aCa } = await newDomainCa("a.test");
const { ca: nextA } = await newDomainCa("a.test");
const SUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

function configurationOf(domain: string, issuersPem: string[]): MimiConfiguration {
  return buildMimiConfiguration({ domain, ciphersuites: [SUITE], issuersPem });
}

describe("mimi-configuration documents", () => {
  it("builds the wire form and parses it back", () => {
    const configuration = configurationOf("a.test", [aCa.certificatePem, nextA.certificatePem]);
    expect(configuration).toEqual({
      domain: "a.test",
      ciphersuites: [SUITE],
      credential_issuers: [aCa.certificatePem, nextA.certificatePem],
    });
    expect(parseMimiConfiguration(JSON.parse(JSON.stringify(configuration)))).toEqual({
      ok: true,
      configuration,
    });
    expect(mimiConfigurationUrl("a.test")).toBe("https://a.test/.well-known/mimi-configuration");
    expect(mimiConfigurationUrl("localhost:3001", "http")).toBe(
      "http://localhost:3001/.well-known/mimi-configuration",
    );
  });

  it("rejects documents with missing fields, bad domains or unreadable issuers", () => {
    const good = configurationOf("a.test", [aCa.certificatePem]);
    const bad: unknown[] = [
      null,
      { ...good, domain: "A.test/x" },
      { ...good, ciphersuites: "all" },
      { ...good, credential_issuers: [] },
      { ...good, credential_issuers: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"] },
      { ...good, credential_issuers: [aCa.certificatePem + nextA.certificatePem] },
    ];
    for (const document of bad) {
      const parsed = parseMimiConfiguration(document);
      expect(parsed.ok, JSON.stringify(document)?.slice(0, 80)).toBe(false);
    }
  });
});

describe("createIssuersFetcher", () => {
  function fakeNetwork(documents: Record<string, unknown>) {
    const requested: string[] = [];
    const fetchJson = async (url: string) => {
      requested.push(url);
      if (!(url in documents)) throw new Error("HTTP 404");
      return documents[url];
    };
    return { requested, fetchJson };
  }

  it("fetches a domain's issuers once per TTL and shares concurrent lookups", async () => {
    let now = 1_000_000;
    const network = fakeNetwork({
      "https://a.test/.well-known/mimi-configuration": configurationOf("a.test", [aCa.certificatePem]),
    });
    const fetcher = createIssuersFetcher({ fetchJson: network.fetchJson, ttlMs: 60_000, clock: () => now });
    const [first, second] = await Promise.all([fetcher.issuersFor("a.test"), fetcher.issuersFor("A.TEST")]);
    expect(first).toEqual({ ok: true, issuersPem: [aCa.certificatePem] });
    expect(second).toEqual(first);
    expect(network.requested).toHaveLength(1);
    now += 59_000;
    await fetcher.issuersFor("a.test");
    expect(network.requested).toHaveLength(1);
    now += 2_000;
    await fetcher.issuersFor("a.test");
    expect(network.requested).toHaveLength(2);
    const configuration = await fetcher.configurationFor("a.test");
    expect(configuration.ok && configuration.configuration.ciphersuites).toEqual([SUITE]);
  });

  it("refreshes on request, but not more often than the minimum interval", async () => {
    let now = 0;
    const documents: Record<string, unknown> = {
      "https://a.test/.well-known/mimi-configuration": configurationOf("a.test", [aCa.certificatePem]),
    };
    const network = fakeNetwork(documents);
    const fetcher = createIssuersFetcher({
      fetchJson: network.fetchJson,
      minRefreshIntervalMs: 10_000,
      clock: () => now,
    });
    await fetcher.issuersFor("a.test");
    documents["https://a.test/.well-known/mimi-configuration"] = configurationOf("a.test", [
      aCa.certificatePem,
      nextA.certificatePem,
    ]);
    expect(await fetcher.issuersFor("a.test", { refresh: true })).toEqual({
      ok: true,
      issuersPem: [aCa.certificatePem],
    });
    now += 10_000;
    expect(await fetcher.issuersFor("a.test", { refresh: true })).toEqual({
      ok: true,
      issuersPem: [aCa.certificatePem, nextA.certificatePem],
    });
    expect(network.requested).toHaveLength(2);
  });

  it("reports and briefly remembers failures; checks the served domain; uses http only when asked", async () => {
    let now = 0;
    const network = fakeNetwork({
      "http://b.test/.well-known/mimi-configuration": configurationOf("a.test", [aCa.certificatePem]),
      "http://c.test/.well-known/mimi-configuration": { domain: "c.test" },
    });
    const fetcher = createIssuersFetcher({
      fetchJson: network.fetchJson,
      scheme: "http",
      failureTtlMs: 5_000,
      clock: () => now,
    });
    expect(await fetcher.issuersFor("dead.test")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/404/),
    });
    expect(await fetcher.issuersFor("b.test")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/names domain/),
    });
    expect(await fetcher.issuersFor("c.test")).toMatchObject({ ok: false });
    expect(await fetcher.issuersFor("bad/domain")).toMatchObject({ ok: false });
    expect(network.requested).toEqual([
      "http://dead.test/.well-known/mimi-configuration",
      "http://b.test/.well-known/mimi-configuration",
      "http://c.test/.well-known/mimi-configuration",
    ]);
    await fetcher.issuersFor("dead.test");
    expect(network.requested).toHaveLength(3);
    now += 5_001;
    await fetcher.issuersFor("dead.test");
    expect(network.requested).toHaveLength(4);
  });

  it("keeps at most maxDomains entries and forgets on request", async () => {
    const documents: Record<string, unknown> = {};
    for (const domain of ["a.test", "b.test", "c.test"]) {
      documents[`https://${domain}/.well-known/mimi-configuration`] = configurationOf(domain, [
        aCa.certificatePem,
      ]);
    }
    const network = fakeNetwork(documents);
    const fetcher = createIssuersFetcher({ fetchJson: network.fetchJson, maxDomains: 2 });
    await fetcher.issuersFor("a.test");
    await fetcher.issuersFor("b.test");
    await fetcher.issuersFor("c.test"); // evicts a.test
    await fetcher.issuersFor("c.test");
    await fetcher.issuersFor("a.test");
    expect(network.requested).toHaveLength(4);
    fetcher.forget("a.test");
    await fetcher.issuersFor("a.test");
    expect(network.requested).toHaveLength(5);
  });
});

describe("verifying through the fetcher", () => {
  it("verifies a credential against the issuers a domain publishes", async () => {
    const key = generateClientKey();
    const { chainDer } = await issueClientCertificate(nextA, {
      user: "alice",
      domain: "a.test",
      clientId: "c1",
      signaturePublicKey: key.publicKey,
    });
    const served = configurationOf("a.test", [aCa.certificatePem, nextA.certificatePem]);
    const fetcher = createIssuersFetcher({ fetchJson: async () => JSON.parse(JSON.stringify(served)) });
    expect(
      await verifyClientCredential(chainDer, key.publicKey, { issuersFor: fetcher.issuersFor }),
    ).toMatchObject({
      ok: true,
      acct: "acct:alice@a.test",
    });
  });
});
