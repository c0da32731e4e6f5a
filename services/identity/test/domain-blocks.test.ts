import { readConfig } from "@mimi/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityConfigSpec } from "../src/config.js";
import { parseBlockableDomain } from "../src/domain/blocked-domains.js";
import { blockedDomains, createDomainBlocks, hostIsBlocked } from "../src/reads.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

let identity: TestIdentity;
let adminToken: string;
let userToken: string;

beforeAll(async () => {
  identity = await startTestIdentity({
    env: { MIMI_BLOCKED_DOMAINS: "Evil.Test, spam.example.", MIMI_ADMIN_USERS: "chief" },
  });
  adminToken = String(
    (await postJson(`${identity.base}/api/v1/accounts`, { username: "chief", password: "chief password" }))
      .body.token,
  );
  userToken = String(
    (await postJson(`${identity.base}/api/v1/accounts`, { username: "plain", password: "plain user pw" }))
      .body.token,
  );
});
afterAll(() => identity.close());

async function call(method: string, path: string, token: string) {
  const res = await fetch(`${identity.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

describe("MIMI_BLOCKED_DOMAINS", () => {
  it("is read once, lower-cased, and a malformed entry stops the boot naming it", () => {
    expect(
      readConfig(identityConfigSpec, { MIMI_BLOCKED_DOMAINS: " a.test ,B.test,," }).blockedDomains,
    ).toEqual(["a.test", "b.test"]);
    for (const bad of ["https://evil.test", "evil.test:8080", "*.evil.test", "10.0.0.1", "evil test"]) {
      expect(() => readConfig(identityConfigSpec, { MIMI_BLOCKED_DOMAINS: `ok.test,${bad}` })).toThrow(
        /invalid configuration: MIMI_BLOCKED_DOMAINS: .*(not a DNS name|IP address)/,
      );
    }
    expect(() => readConfig(identityConfigSpec, { MIMI_ADMIN_USERS: "Not A Name" })).toThrow(
      /MIMI_ADMIN_USERS/,
    );
  });

  it("is where the other services read it once identity started", async () => {
    expect((await blockedDomains(identity.sql)).sort()).toEqual(["evil.test", "spam.example"]);
  });
});

describe("matching", () => {
  it("blocks the domain and its subdomains, whatever the port", () => {
    const domains = new Set(["evil.test"]);
    expect(hostIsBlocked("evil.test", domains)).toBe(true);
    expect(hostIsBlocked("deep.inbox.evil.test", domains)).toBe(true);
    expect(hostIsBlocked("EVIL.test.", domains)).toBe(true);
    expect(hostIsBlocked("notevil.test", domains)).toBe(false);
    expect(hostIsBlocked("evil.test.example", domains)).toBe(false);
    expect(hostIsBlocked("test", domains)).toBe(false);
  });

  it("parses what people write and refuses what is not a domain", () => {
    expect(parseBlockableDomain(" Evil.Test. ")).toEqual({ ok: true, domain: "evil.test" });
    expect(parseBlockableDomain("").ok).toBe(false);
    expect(parseBlockableDomain("evil.test/path").ok).toBe(false);
  });

  it("serves a cached list for its time to live, then reads again", async () => {
    let now = 1_000;
    const blocks = createDomainBlocks(identity.sql, { ttlMs: 5_000, now: () => now });
    expect(await blocks.blocks("https://x.evil.test:8443/users/eve")).toBe(true);
    expect(await blocks.blocks("later.test")).toBe(false);
    await identity.sql.query(
      "insert into identity.blocked_domains (domain, source) values ('later.test', 'admin')",
    );
    expect(await blocks.blocks("later.test")).toBe(false);
    now += 5_000;
    expect(await blocks.blocks("http://later.test/users/x")).toBe(true);
    expect(await blocks.blocks("not a url://")).toBe(false);
    await identity.sql.query("delete from identity.blocked_domains where domain = 'later.test'");
  });
});

describe("admin API", () => {
  it("refuses users not in MIMI_ADMIN_USERS, and requests without a session", async () => {
    const refused = await call("GET", "/api/v1/admin/blocked-domains", userToken);
    expect(refused.status).toBe(403);
    expect(refused.type).toContain("application/problem+json");
    expect(refused.body.reason).toBe("notAdmin");
    expect((await call("PUT", "/api/v1/admin/blocked-domains/x.test", userToken)).status).toBe(403);
    expect((await call("PUT", "/api/v1/admin/blocked-domains/x.test", "nonsense")).status).toBe(401);
    expect(await blockedDomains(identity.sql)).not.toContain("x.test");
  });

  it("lists, adds and removes blocks", async () => {
    const added = await call("PUT", "/api/v1/admin/blocked-domains/Flood.Test", adminToken);
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ domain: "flood.test", blocked: true });
    expect((await call("PUT", "/api/v1/admin/blocked-domains/flood.test", adminToken)).status).toBe(200);
    const listed = await call("GET", "/api/v1/admin/blocked-domains", adminToken);
    expect(listed.status).toBe(200);
    const domains = listed.body.domains as Array<{ domain: string; source: string; createdBy?: string }>;
    expect(domains.map((entry) => [entry.domain, entry.source])).toEqual([
      ["evil.test", "config"],
      ["flood.test", "admin"],
      ["spam.example", "config"],
    ]);
    expect(domains.find((entry) => entry.domain === "flood.test")?.createdBy).toBe("chief");
    expect((await call("DELETE", "/api/v1/admin/blocked-domains/flood.test", adminToken)).status).toBe(204);
    const again = await call("DELETE", "/api/v1/admin/blocked-domains/flood.test", adminToken);
    expect(again.status).toBe(404);
    expect(again.body.reason).toBe("notBlocked");
  });

  it("refuses bad domains, the provider's own, and lifting a configured block", async () => {
    const bad = await call("PUT", "/api/v1/admin/blocked-domains/evil.test:80", adminToken);
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toBe("invalidDomain");
    const own = await call("PUT", "/api/v1/admin/blocked-domains/a.test", adminToken);
    expect(own.status).toBe(400);
    expect(own.body.reason).toBe("ownDomain");
    const configured = await call("DELETE", "/api/v1/admin/blocked-domains/evil.test", adminToken);
    expect(configured.status).toBe(409);
    expect(configured.body.reason).toBe("configuredBlock");
    expect(await blockedDomains(identity.sql)).toContain("evil.test");
  });
});
