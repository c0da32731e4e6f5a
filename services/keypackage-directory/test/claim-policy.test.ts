import { randomBytes } from "node:crypto";
import { createPgliteSql, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  available,
  call,
  claimSignedBy,
  createAccount,
  listen,
  startTestProvider,
  type TestProvider,
  testSigners,
  userWithDevice,
} from "./harness.js";

/**
 * The claim policy's domain blocks: a claim signed by a key of a blocked domain (or below one) is
 * refused before its key is resolved, and a local client cannot claim a blocked domain's user.
 */
const {
  signers,
  keys: staticKeys,
  resolved,
} = testSigners(["http://evil.test/users/eve", "http://x.evil.test/users/imp", "http://c.test/users/carl"]);

let sql: Sql;
let p: TestProvider;
let target: { username: string; token: string };
beforeAll(async () => {
  sql = await createPgliteSql();
  const listener = await listen();
  p = await startTestProvider({
    domain: "a.test",
    listener,
    sql,
    connectTo: `a.test=127.0.0.1:${listener.port}`,
    directory: { keys: staticKeys },
  });
  await sql.query("insert into identity.blocked_domains (domain, source) values ('evil.test', 'admin')");
  const { username, token } = await userWithDevice(p, 5);
  target = { username, token };
});
afterAll(async () => {
  await p?.close();
  await sql?.close();
});

describe("claims and domain blocks", () => {
  it("refuses a blocked domain's signed claim before resolving its key, subdomains too", async () => {
    for (const signer of [signers[0]!, signers[1]!]) {
      const answer = await claimSignedBy(p, target.username, signer);
      expect(answer.status).toBe(403);
      expect(answer.type).toContain("application/problem+json");
      expect(answer.body).toMatchObject({ reason: "domainBlocked" });
    }
    expect(resolved.filter((keyId) => keyId.includes("evil.test"))).toEqual([]);
    expect(await available(p, target.token)).toBe(5);
  });

  it("answers other domains' claims", async () => {
    expect((await claimSignedBy(p, target.username, signers[2]!)).status).toBe(200);
    expect(await available(p, target.token)).toBe(4);
  });

  it("refuses a local client's claim of a blocked domain's user without contacting it", async () => {
    for (const acct of ["eve@evil.test", "imp@x.evil.test", "eve@evil.test:8443"]) {
      const answer = await call(`${p.base}/api/v1/keypackages/claim`, {
        token: target.token,
        body: { acct },
      });
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ reason: "domainBlocked" });
    }
  });
});

const tokens = new Map<string, string>();
async function tokenOf(username: string): Promise<string> {
  const token = tokens.get(username);
  if (!token) throw new Error(`no token for ${username}`);
  return token;
}

/** A user with one device and 3 KeyPackages whose blocks no claim has read yet (they are cached 10 s). */
async function freshTarget(blocks: Array<[string, "user" | "domain"]>) {
  const { username, token } = await userWithDevice(p, 3);
  tokens.set(username, token);
  for (const [blocked, kind] of blocks) {
    await sql.query("insert into identity.user_blocks (username, target, kind) values ($1, $2, $3)", [
      username,
      blocked,
      kind,
    ]);
  }
  return { username, left: () => available(p, token) };
}

describe("claims and the target's own blocks", () => {
  it("answers a blocked requester as a drained pool would, handing out nothing", async () => {
    for (const block of [
      ["carl@c.test", "user"],
      ["c.test", "domain"],
    ] as const) {
      const fern = await freshTarget([[block[0], block[1]]]);
      const answer = await claimSignedBy(p, fern.username, signers[2]!);
      expect(answer.status).toBe(200);
      expect(answer.body.items).toEqual([]);
      expect(answer.body["mimi:unavailable"]).toEqual([
        expect.objectContaining({ "mimi:reason": "noKeyPackages" }),
      ]);
      expect(await fern.left()).toBe(3);
    }
  });

  it("covers a local client's claim by a user the target blocked, and no one else", async () => {
    const mallory = `m_${randomBytes(4).toString("hex")}`;
    const malloryToken = await createAccount(p, mallory);
    const gail = await freshTarget([[`${mallory}@a.test`, "user"]]);
    const refused = await call(`${p.base}/api/v1/keypackages/claim`, {
      token: malloryToken,
      body: { acct: `${gail.username}@a.test` },
    });
    expect(refused.status).toBe(200);
    expect(refused.body.items).toEqual([]);
    expect(await gail.left()).toBe(3);
    const served = await call(`${p.base}/api/v1/keypackages/claim`, {
      token: target.token,
      body: { acct: `${gail.username}@a.test` },
    });
    expect((served.body.items as unknown[]).length).toBe(1);
    expect(await gail.left()).toBe(2);
  });
});

describe("claims and consent", () => {
  async function requireConsent(username: string, token: string) {
    const set = await fetch(`${p.base}/api/v1/me/consent`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ required: true }),
    });
    expect(set.status).toBe(200);
    return username;
  }

  it("refuses a stranger's signed claim with consentRequired and an invite, then serves them once accepted", async () => {
    const hana = await freshTarget([]);
    const token = await tokenOf(hana.username);
    await requireConsent(hana.username, token);
    const refused = await claimSignedBy(p, hana.username, signers[2]!);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ reason: "consentRequired", invited: true });
    expect(await hana.left()).toBe(3);
    const invites = await call(`${p.base}/api/v1/me/invites`, { token });
    expect(invites.body.invites).toEqual([
      expect.objectContaining({ requester: signers[2]!.actor, handle: "carl@c.test" }),
    ]);
    expect(
      (await call(`${p.base}/api/v1/me/invites/accept`, { token, body: { requester: "carl@c.test" } }))
        .status,
    ).toBe(200);
    expect((await claimSignedBy(p, hana.username, signers[2]!)).status).toBe(200);
    expect(await hana.left()).toBe(2);
  });

  it("lets in the people the user claimed themselves", async () => {
    const ivy = await freshTarget([]);
    const ivyToken = await tokenOf(ivy.username);
    await requireConsent(ivy.username, ivyToken);
    const refused = await call(`${p.base}/api/v1/keypackages/claim`, {
      token: target.token,
      body: { acct: `${ivy.username}@a.test` },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toBe("consentRequired");
    // ivy claims the target: the target becomes her contact, and may add her from then on.
    expect(
      (
        await call(`${p.base}/api/v1/keypackages/claim`, {
          token: ivyToken,
          body: { acct: `${target.username}@a.test` },
        })
      ).status,
    ).toBe(200);
    const served = await call(`${p.base}/api/v1/keypackages/claim`, {
      token: target.token,
      body: { acct: `${ivy.username}@a.test` },
    });
    expect(served.status).toBe(200);
    expect((served.body.items as unknown[]).length).toBe(1);
  });
});
