import { actorKeyMigrations } from "@mimi/actor-keys";
import { DAY_MS, hashToken } from "@mimi/auth";
import { ConfigError, readConfig } from "@mimi/service-kit";
import { createPgliteSql, migrateAll } from "@mimi/store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { identityConfigSpec } from "../src/config.js";
import { identityMigrations } from "../src/migrations.js";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

/** The token check's clock runs `offset` ahead of the real one (tokens are stored at the real time). */
const clock = { offset: 0 };
let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity({ now: () => Date.now() + clock.offset });
});
afterAll(() => identity.close());
beforeEach(() => {
  clock.offset = 0;
});

async function signUp(username: string): Promise<string> {
  const created = await postJson(`${identity.base}/api/v1/accounts`, {
    username,
    password: `${username} password`,
  });
  expect(created.status).toBe(201);
  return String(created.body.token);
}

const me = (token: string, base = identity.base) =>
  fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

async function lastUsed(token: string, sql = identity.sql): Promise<number> {
  const result = await sql.query<{ last_used_at: Date }>(
    "select last_used_at from identity.tokens where token_hash = $1",
    [hashToken(token)],
  );
  return new Date(result.rows[0]?.last_used_at ?? 0).getTime();
}

describe("sliding sessions", () => {
  it("keeps a session used within the idle limit and moves its expiry forward", async () => {
    const token = await signUp("sid");
    const issued = await lastUsed(token);
    clock.offset = 29 * DAY_MS;
    expect((await me(token)).status).toBe(200);
    expect(await lastUsed(token)).toBeGreaterThanOrEqual(issued + 29 * DAY_MS);
    // 58 days after the login, 29 after the last use: still a session.
    clock.offset = 58 * DAY_MS;
    expect((await me(token)).status).toBe(200);
  });

  it("refuses a session unused for MIMI_SESSION_IDLE_DAYS with 401 sessionExpired", async () => {
    const token = await signUp("una");
    const issued = await lastUsed(token);
    clock.offset = 30 * DAY_MS + MINUTE_MS;
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 401, reason: "sessionExpired" });
    // Refusing writes nothing: the expired session does not slide back to life.
    expect((await me(token)).status).toBe(401);
    expect(await lastUsed(token)).toBe(issued);
  });

  it("writes a token's last use at most once an hour", async () => {
    const token = await signUp("tim");
    const issued = await lastUsed(token);
    for (const minutes of [1, 10, 59]) {
      clock.offset = minutes * MINUTE_MS;
      expect((await me(token)).status).toBe(200);
    }
    expect(await lastUsed(token)).toBe(issued);
    clock.offset = 61 * MINUTE_MS;
    expect((await me(token)).status).toBe(200);
    const written = await lastUsed(token);
    expect(written).toBeGreaterThanOrEqual(issued + HOUR_MS);
    for (const minutes of [70, 100, 120]) {
      clock.offset = minutes * MINUTE_MS;
      expect((await me(token)).status).toBe(200);
    }
    expect(await lastUsed(token)).toBe(written);
    clock.offset = 125 * MINUTE_MS;
    expect((await me(token)).status).toBe(200);
    expect(await lastUsed(token)).toBeGreaterThan(written);
  });

  it("lists sessions with their last use, leaving out expired ones", async () => {
    const token = await signUp("lea");
    const old = await postJson(`${identity.base}/api/v1/tokens`, {
      username: "lea",
      password: "lea password",
      label: "old laptop",
    });
    await identity.sql.query(
      "update identity.tokens set last_used_at = now() - interval '31 days' where token_hash = $1",
      [hashToken(String(old.body.token))],
    );
    const res = await fetch(`${identity.base}/api/v1/tokens`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { sessions } = (await res.json()) as { sessions: Array<{ label: string; lastUsedAt: string }> };
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.label).toBe("registration");
    expect(Math.abs(Date.parse(sessions[0]?.lastUsedAt ?? "") - Date.now())).toBeLessThan(HOUR_MS);
    expect((await me(String(old.body.token))).status).toBe(401);
  });
});

describe("MIMI_SESSION_IDLE_DAYS", () => {
  it("is published at start for every service's token check; 0 never expires a session", async () => {
    const never = await startTestIdentity({
      env: { MIMI_SESSION_IDLE_DAYS: "0" },
      now: () => Date.now() + clock.offset,
    });
    const short = await startTestIdentity({
      env: { MIMI_SESSION_IDLE_DAYS: "2" },
      now: () => Date.now() + clock.offset,
    });
    try {
      const policy = await never.sql.query<{ idle_seconds: number }>(
        "select idle_seconds from identity.session_policy",
      );
      expect(policy.rows).toEqual([{ idle_seconds: 0 }]);
      const forever = String(
        (await postJson(`${never.base}/api/v1/accounts`, { username: "eve", password: "eve password" })).body
          .token,
      );
      const brief = String(
        (await postJson(`${short.base}/api/v1/accounts`, { username: "bo", password: "bo password" })).body
          .token,
      );
      clock.offset = 3 * DAY_MS;
      expect((await me(forever, never.base)).status).toBe(200);
      expect((await me(brief, short.base)).status).toBe(401);
    } finally {
      await never.close();
      await short.close();
    }
  });

  it("defaults to 30 days and refuses negative or absurd values", () => {
    expect(readConfig(identityConfigSpec, {}).sessionIdleDays).toBe(30);
    expect(readConfig(identityConfigSpec, { MIMI_SESSION_IDLE_DAYS: "0" }).sessionIdleDays).toBe(0);
    for (const bad of ["-1", "1.5", "4000", "month"]) {
      expect(() => readConfig(identityConfigSpec, { MIMI_SESSION_IDLE_DAYS: bad })).toThrow(ConfigError);
    }
  });

  it("counts existing tokens as used at the upgrade, so nobody is logged out", async () => {
    const sql = await createPgliteSql();
    try {
      const before = { ...identityMigrations, migrations: identityMigrations.migrations.slice(0, 2) };
      await migrateAll(sql, [actorKeyMigrations, before]);
      await sql.query("insert into identity.accounts (username, password_hash) values ('old', 'x')");
      await sql.query(
        "insert into identity.tokens (token_hash, username, created_at) values ('h', 'old', now() - interval '400 days')",
      );
      await migrateAll(sql, [actorKeyMigrations, identityMigrations]);
      const row = await sql.query<{ last_used_at: Date }>("select last_used_at from identity.tokens");
      expect(Math.abs(new Date(row.rows[0]?.last_used_at ?? 0).getTime() - Date.now())).toBeLessThan(HOUR_MS);
      const policy = await sql.query<{ idle_seconds: number }>(
        "select idle_seconds from identity.session_policy",
      );
      expect(policy.rows).toEqual([{ idle_seconds: 30 * 24 * 3600 }]);
    } finally {
      await sql.close();
    }
  });
});
