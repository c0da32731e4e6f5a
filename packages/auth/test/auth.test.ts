import { createApp, createLogger, createMetrics, type RunningServer, startServer } from "@mimi/service-kit";
import { createPgliteSql, type Sql } from "@mimi/store";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTokenVerifier,
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
    create table identity.tokens (token_hash text primary key, username text not null, revoked_at timestamptz);`);
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
