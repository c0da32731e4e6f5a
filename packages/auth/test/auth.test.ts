import { createApp, createLogger, createMetrics, type RunningServer, startServer } from "@mimi/service-kit";
import { createPgliteSql, type Sql } from "@mimi/store";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTokenVerifier,
  DAY_MS,
  generateToken,
  hashToken,
  principalOf,
  requireBearer,
  requireSelf,
} from "../src/index.js";

let sql: Sql;
let server: RunningServer;
let base: string;
const token = generateToken();
const revoked = generateToken();

beforeAll(async () => {
  sql = await createPgliteSql();
  await sql.exec(`create schema identity;
    create table identity.tokens (token_hash text primary key, username text not null, revoked_at timestamptz,
      last_used_at timestamptz not null default now());
    create table identity.session_policy (id boolean primary key default true check (id), idle_seconds integer not null);`);
  await sql.query("insert into identity.tokens (token_hash, username) values ($1, 'alice')", [
    hashToken(token),
  ]);
  await sql.query(
    "insert into identity.tokens (token_hash, username, revoked_at) values ($1, 'alice', now())",
    [hashToken(revoked)],
  );
  const verifier = createTokenVerifier(sql);
  const router = express.Router();
  router.get("/me", requireBearer(verifier), (_req, res) => {
    res.json(principalOf(res));
  });
  router.get("/users/:username/secret", requireBearer(verifier), (req, res) => {
    requireSelf(res, String(req.params.username));
    res.json({ ok: true });
  });
  const logger = createLogger({ name: "auth-test", level: "silent" });
  server = await startServer(
    createApp({ logger, metrics: createMetrics({ defaultMetrics: false }), routers: [router] }),
    {
      port: 0,
      host: "127.0.0.1",
      logger,
    },
  );
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await sql.close();
});

const get = (path: string, auth?: string) =>
  fetch(`${base}${path}`, auth ? { headers: { authorization: auth } } : {});

describe("bearer tokens", () => {
  it("stores only a hash and generates unguessable tokens", () => {
    expect(token).toMatch(/^mimi_[A-Za-z0-9_-]{43}$/);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(generateToken()).not.toBe(token);
  });

  it("authenticates a valid token and names its user", async () => {
    const res = await get("/me", `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ username: "alice" });
  });

  it.each([
    [undefined, "a bearer token is required"],
    ["Basic abc", "a bearer token is required"],
    [`Bearer ${revoked}`, "the bearer token is not valid"],
    ["Bearer mimi_unknown", "the bearer token is not valid"],
    ["Bearer not-even-ours", "the bearer token is not valid"],
  ])("answers %s with 401 problem+json", async (header, detail) => {
    const res = await get("/me", header);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(((await res.json()) as { detail: string }).detail).toBe(detail);
  });

  it("forbids acting on another user's resources", async () => {
    expect((await get("/users/alice/secret", `Bearer ${token}`)).status).toBe(200);
    expect((await get("/users/bob/secret", `Bearer ${token}`)).status).toBe(403);
  });
});

describe("sliding sessions", () => {
  const HOUR_MS = 60 * 60 * 1000;
  const start = Date.UTC(2026, 5, 1);

  /** A token last used at `start`, a clock the test moves, and the stored last use. */
  async function session(idleSeconds: number | undefined) {
    await sql.query("delete from identity.session_policy");
    if (idleSeconds !== undefined) {
      await sql.query("insert into identity.session_policy (idle_seconds) values ($1)", [idleSeconds]);
    }
    const fresh = generateToken();
    await sql.query(
      "insert into identity.tokens (token_hash, username, last_used_at) values ($1, 'alice', $2)",
      [hashToken(fresh), new Date(start)],
    );
    const clock = { now: start };
    const lastUsed = async () =>
      new Date(
        (
          await sql.query<{ last_used_at: Date }>(
            "select last_used_at from identity.tokens where token_hash = $1",
            [hashToken(fresh)],
          )
        ).rows[0]?.last_used_at ?? 0,
      ).getTime();
    return { token: fresh, clock, lastUsed };
  }

  it("keeps a session in use and slides it, writing the last use at most once an hour", async () => {
    const { token: fresh, clock, lastUsed } = await session(30 * 24 * 3600);
    const verifier = createTokenVerifier(sql, { cacheTtlMs: 0, now: () => clock.now });
    clock.now = start + 20 * 60_000;
    expect(await verifier.check(fresh)).toEqual({ ok: true, principal: { username: "alice" } });
    expect(await lastUsed()).toBe(start);
    clock.now = start + HOUR_MS;
    expect((await verifier.check(fresh)).ok).toBe(true);
    expect(await lastUsed()).toBe(start + HOUR_MS);
    clock.now = start + HOUR_MS + 59 * 60_000;
    expect((await verifier.check(fresh)).ok).toBe(true);
    expect(await lastUsed()).toBe(start + HOUR_MS);
    // 29 days after the last write: still valid (the window slid), and written again.
    clock.now = start + HOUR_MS + 29 * DAY_MS;
    expect((await verifier.check(fresh)).ok).toBe(true);
    expect(await lastUsed()).toBe(clock.now);
  });

  it("refuses a session unused for the idle limit, even from the cache", async () => {
    const { token: fresh, clock, lastUsed } = await session(30 * 24 * 3600);
    const verifier = createTokenVerifier(sql, { cacheTtlMs: 365 * DAY_MS, now: () => clock.now });
    expect((await verifier.check(fresh)).ok).toBe(true);
    // Within the cache time, yet expired: the cache holds the last use, not a yes.
    clock.now = start + 30 * DAY_MS;
    expect(await verifier.check(fresh)).toEqual({ ok: false, reason: "sessionExpired" });
    expect(await verifier.verify(fresh)).toBeUndefined();
    expect(await lastUsed()).toBe(start);
  });

  it("answers 401 problem+json with reason sessionExpired", async () => {
    const { token: fresh, clock } = await session(30 * 24 * 3600);
    clock.now = start + 31 * DAY_MS;
    const router = express.Router();
    router.get("/me", requireBearer(createTokenVerifier(sql, { now: () => clock.now })), (_req, res) => {
      res.json(principalOf(res));
    });
    const logger = createLogger({ name: "auth-test", level: "silent" });
    const app = createApp({ logger, metrics: createMetrics({ defaultMetrics: false }), routers: [router] });
    const running = await startServer(app, { port: 0, host: "127.0.0.1", logger });
    try {
      const res = await fetch(`http://127.0.0.1:${running.port}/me`, {
        headers: { authorization: `Bearer ${fresh}` },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/problem\+json/);
      expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
      expect(await res.json()).toMatchObject({ reason: "sessionExpired" });
    } finally {
      await running.close();
    }
  });

  it("never expires a session when the idle limit is 0, and defaults to 30 days without a policy", async () => {
    const never = await session(0);
    const verifier = createTokenVerifier(sql, { cacheTtlMs: 0, now: () => never.clock.now });
    never.clock.now = start + 1000 * DAY_MS;
    expect((await verifier.check(never.token)).ok).toBe(true);
    expect(await never.lastUsed()).toBe(never.clock.now);

    const unset = await session(undefined);
    const defaults = createTokenVerifier(sql, { cacheTtlMs: 0, now: () => unset.clock.now });
    unset.clock.now = start + 29 * DAY_MS;
    expect((await defaults.check(unset.token)).ok).toBe(true);
    unset.clock.now += 30 * DAY_MS;
    expect(await defaults.check(unset.token)).toEqual({ ok: false, reason: "sessionExpired" });
  });

  it("does not slide a revoked token", async () => {
    const { token: fresh, clock, lastUsed } = await session(30 * 24 * 3600);
    await sql.query("update identity.tokens set revoked_at = now() where token_hash = $1", [
      hashToken(fresh),
    ]);
    clock.now = start + 2 * HOUR_MS;
    const verifier = createTokenVerifier(sql, { now: () => clock.now });
    expect(await verifier.check(fresh)).toEqual({ ok: false, reason: "invalidToken" });
    expect(await lastUsed()).toBe(start);
  });
});
