import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
  const created = await postJson(`${identity.base}/api/v1/accounts`, {
    username: "alice",
    password: "correct horse",
  });
  expect(created.status).toBe(201);
});
afterAll(() => identity.close());

async function get(path: string, accept?: string) {
  const res = await fetch(`${identity.base}${path}`, accept ? { headers: { accept } } : {});
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("WebFinger", () => {
  it("resolves acct:alice@a.test to her actor", async () => {
    const res = await get("/.well-known/webfinger?resource=acct:alice@a.test");
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/jrd\+json/);
    const jrd = JSON.parse(res.text);
    expect(jrd.subject).toBe("acct:alice@a.test");
    expect(jrd.aliases).toContain("http://a.test/users/alice");
    expect(jrd.links).toContainEqual({
      rel: "self",
      type: "application/activity+json",
      href: "http://a.test/users/alice",
    });
  });

  it("accepts the actor URL as resource, like Mastodon", async () => {
    const res = await get(
      `/.well-known/webfinger?resource=${encodeURIComponent("http://a.test/users/alice")}`,
    );
    expect(JSON.parse(res.text).subject).toBe("acct:alice@a.test");
  });

  it.each([
    ["/.well-known/webfinger", 400],
    ["/.well-known/webfinger?resource=", 400],
    ["/.well-known/webfinger?resource=alice@a.test", 400],
    ["/.well-known/webfinger?resource=acct:alice", 400],
    ["/.well-known/webfinger?resource=acct:@a.test", 400],
    ["/.well-known/webfinger?resource=acct:alice@bad_host!", 400],
    ["/.well-known/webfinger?resource=acct:nobody@a.test", 404],
    ["/.well-known/webfinger?resource=acct:alice@b.test", 404],
    [`/.well-known/webfinger?resource=${encodeURIComponent("https://elsewhere.test/users/alice")}`, 404],
  ])("%s -> %i problem", async (path, status) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text).status).toBe(status);
  });
});

describe("actor documents", () => {
  it("serves alice as a Person with every endpoint of the profile", async () => {
    for (const accept of [
      "application/activity+json",
      'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    ]) {
      const res = await get("/users/alice", accept);
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^application\/activity\+json/);
      const actor = JSON.parse(res.text);
      expect(actor).toMatchObject({
        id: "http://a.test/users/alice",
        type: "Person",
        preferredUsername: "alice",
        inbox: "http://a.test/users/alice/inbox",
        outbox: "http://a.test/users/alice/outbox",
        followers: "http://a.test/users/alice/followers",
        endpoints: { sharedInbox: "http://a.test/inbox" },
        publicKey: { id: "http://a.test/users/alice#main-key", owner: "http://a.test/users/alice" },
        keyPackages: "http://a.test/users/alice/keyPackages",
        "mimi:keyPackageClaim": "http://a.test/users/alice/keyPackages/claim",
      });
      expect(actor.publicKey.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(actor["@context"]).toContain("https://www.w3.org/ns/activitystreams");
      expect(JSON.stringify(actor["@context"])).toContain('"mimi"');
    }
  });

  it("keeps one key per actor across requests", async () => {
    const first = JSON.parse((await get("/users/alice", "application/activity+json")).text);
    const second = JSON.parse((await get("/users/alice", "application/activity+json")).text);
    expect(second.publicKey.publicKeyPem).toBe(first.publicKey.publicKeyPem);
  });

  it("gives browsers a small HTML profile page", async () => {
    const res = await get("/users/alice", "text/html");
    expect(res.type).toMatch(/^text\/html/);
    expect(res.text).toContain("@alice@a.test");
  });

  it("answers unknown users with 404", async () => {
    expect((await get("/users/nobody", "application/activity+json")).status).toBe(404);
    expect((await get("/users/NOT-valid", "application/activity+json")).status).toBe(404);
  });

  it("serves the instance actor", async () => {
    const actor = JSON.parse((await get("/actor", "application/activity+json")).text);
    expect(actor.id).toBe("http://a.test/actor");
    expect(actor.publicKey.id).toBe("http://a.test/actor#main-key");
  });
});

describe("provider metadata", () => {
  it("serves NodeInfo 2.1", async () => {
    const links = JSON.parse((await get("/.well-known/nodeinfo")).text);
    expect(links.links[0].href).toBe("http://a.test/nodeinfo/2.1");
    const info = JSON.parse((await get("/nodeinfo/2.1")).text);
    expect(info.version).toBe("2.1");
    expect(info.protocols).toEqual(["activitypub"]);
    expect(info.usage.users.total).toBe(1);
  });

  it("publishes the domain CA in mimi-configuration", async () => {
    const config = JSON.parse((await get("/.well-known/mimi-configuration")).text);
    expect(config.domain).toBe("a.test");
    expect(config.ciphersuites).toContain("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519");
    expect(config.credential_issuers).toHaveLength(1);
    expect(config.credential_issuers[0]).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("publishes both certificates while the CA rotates", async () => {
    const before = JSON.parse((await get("/.well-known/mimi-configuration")).text).credential_issuers;
    await identity.ctx.authorities.rotate();
    const after = JSON.parse((await get("/.well-known/mimi-configuration")).text).credential_issuers;
    expect(after).toHaveLength(2);
    expect(after).toContain(before[0]);
  });
});
