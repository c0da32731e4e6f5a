import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeable, quarantineEnds } from "../src/domain/account-deletion.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

/** `POST /api/v1/me/delete`: the account, its sessions and clients go; its name is quarantined. */
let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity({ env: { MIMI_DELETED_NAME_QUARANTINE_DAYS: "30" } });
});
afterAll(() => identity.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signUp(username: string, password = `${username} password`): Promise<string> {
  const created = await postJson(`${identity.base}/api/v1/accounts`, { username, password });
  expect(created.status).toBe(201);
  return String(created.body.token);
}

const actorStatus = async (username: string) =>
  (
    await fetch(`${identity.base}/users/${username}`, {
      headers: { accept: "application/activity+json" },
    })
  ).status;
const webfingerStatus = async (username: string) =>
  (await fetch(`${identity.base}/.well-known/webfinger?resource=acct:${username}@a.test`)).status;

describe("the quarantine", () => {
  it("ends the configured time after the deletion", () => {
    const deletedAt = new Date("2026-01-01T00:00:00.000Z");
    expect(quarantineEnds(deletedAt, 30 * 86_400).toISOString()).toBe("2026-01-31T00:00:00.000Z");
    expect(purgeable(deletedAt, 86_400, new Date("2026-01-01T23:59:59.999Z"))).toBe(false);
    expect(purgeable(deletedAt, 86_400, new Date("2026-01-02T00:00:00.000Z"))).toBe(true);
  });
});

describe("deleting an account", () => {
  it("refuses a wrong password (403) and changes nothing", async () => {
    const token = await signUp("wendy");
    const res = await postJson(
      `${identity.base}/api/v1/me/delete`,
      { password: "not it at all" },
      bearer(token),
    );
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe("wrongPassword");
    expect(await actorStatus("wendy")).toBe(200);
    expect((await fetch(`${identity.base}/api/v1/me`, { headers: bearer(token) })).status).toBe(200);
  });

  it("refuses a missing password (400) and a request without a session (401)", async () => {
    const token = await signUp("xavi");
    expect((await postJson(`${identity.base}/api/v1/me/delete`, {}, bearer(token))).status).toBe(400);
    expect((await postJson(`${identity.base}/api/v1/me/delete`, { password: "xavi password" })).status).toBe(
      401,
    );
    expect(await actorStatus("xavi")).toBe(200);
  });

  it("marks it deleted, ends every session, removes its clients, and answers 410 for the quarantine", async () => {
    const token = await signUp("yara");
    const other = String(
      (await postJson(`${identity.base}/api/v1/tokens`, { username: "yara", password: "yara password" })).body
        .token,
    );
    const client = await postJson(`${identity.base}/api/v1/clients`, { name: "phone" }, bearer(token));
    expect(client.status).toBe(201);
    const res = await postJson(
      `${identity.base}/api/v1/me/delete`,
      { password: "yara password" },
      bearer(token),
    );
    expect(res.status).toBe(200);
    expect(res.body.deleted).toBe(true);
    const until = Date.parse(String(res.body.quarantineUntil));
    expect(until - Date.now()).toBeGreaterThan(29 * 86_400_000);

    for (const session of [token, other])
      expect((await fetch(`${identity.base}/api/v1/me`, { headers: bearer(session) })).status).toBe(401);
    const clients = await identity.sql.query("select 1 from identity.clients where username = 'yara'");
    expect(clients.rows).toHaveLength(0);
    expect(await actorStatus("yara")).toBe(410);
    expect(await webfingerStatus("yara")).toBe(410);
    const login = await postJson(`${identity.base}/api/v1/tokens`, {
      username: "yara",
      password: "yara password",
    });
    expect(login.status).toBe(401);

    const again = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "yara",
      password: "a new password",
    });
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe("usernameQuarantined");
    // Unknown names stay 404: 410 says only that this name existed.
    expect(await actorStatus("nobody_here")).toBe(404);
  });

  it("frees the name once the quarantine is over: purged, registered anew", async () => {
    const token = await signUp("zane");
    expect(
      (await postJson(`${identity.base}/api/v1/me/delete`, { password: "zane password" }, bearer(token)))
        .status,
    ).toBe(200);
    await identity.sql.query(
      "update identity.accounts set deleted_at = now() - interval '31 days' where username = 'zane'",
    );
    const again = await postJson(`${identity.base}/api/v1/accounts`, {
      username: "zane",
      password: "a new password",
    });
    expect(again.status).toBe(201);
    expect(await actorStatus("zane")).toBe(200);
    const rows = await identity.sql.query<{ deleted_at: Date | null }>(
      "select deleted_at from identity.accounts where username = 'zane'",
    );
    expect(rows.rows).toEqual([{ deleted_at: null }]);
  });
});
