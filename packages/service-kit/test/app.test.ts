import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import {
  createApp,
  createLogger,
  createMetrics,
  problems,
  type RunningServer,
  startServer,
} from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let running: RunningServer | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function serve(routers: express.Router[], readyCheck?: () => Promise<void>): Promise<string> {
  const app = createApp({
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    routers,
    readiness: readyCheck ? [{ name: "db", check: readyCheck }] : [],
  });
  running = await startServer(app, { port: 0, host: "127.0.0.1", logger });
  return `http://127.0.0.1:${running.port}`;
}

function router(): express.Router {
  const r = express.Router();
  r.get("/boom", () => {
    throw problems.conflict("name is taken", { name: "alice" });
  });
  r.get("/crash", () => {
    throw new Error("secret internal detail");
  });
  r.get("/slow", async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    res.json({ done: true });
  });
  r.post("/json", express.json({ limit: 10 }), (req, res) => {
    res.json(req.body);
  });
  r.get("/database-down", () => {
    throw Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
  });
  r.get("/pool-lost", () => {
    throw new Error("query failed", { cause: new Error("Connection terminated unexpectedly") });
  });
  r.get("/limited", () => {
    throw problems.tooManyRequests("slow down", 30);
  });
  return r;
}

describe("createApp", () => {
  it("answers 503 with Retry-After when a backing service is unavailable, 500 for anything else", async () => {
    const base = await serve([router()]);
    for (const path of ["/database-down", "/pool-lost"]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(await res.json()).toMatchObject({ status: 503, reason: "dependencyUnavailable" });
    }
    expect((await fetch(`${base}/crash`)).status).toBe(500);
  });

  it("serves health, readiness and metrics", async () => {
    const base = await serve([router()]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready" });
    await fetch(`${base}/boom`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(
      'mimi_http_request_duration_seconds_count{method="GET",route="/boom",status="409"} 1',
    );
  });

  it("answers 503 on /readyz when a dependency check fails", async () => {
    const base = await serve([router()], async () => {
      throw new Error("database unreachable");
    });
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "not ready", failures: { db: "database unreachable" } });
  });

  it("maps typed errors to problem+json", async () => {
    const base = await serve([router()]);
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual({
      type: "about:blank",
      title: "Conflict",
      status: 409,
      detail: "name is taken",
      instance: "/boom",
      name: "alice",
    });
  });

  it("sets Retry-After on 429", async () => {
    const base = await serve([router()]);
    const res = await fetch(`${base}/limited`);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
  });

  it("hides unknown errors behind a generic 500", async () => {
    const base = await serve([router()]);
    const res = await fetch(`${base}/crash`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain("secret internal detail");
    expect(JSON.parse(body).title).toBe("Internal Server Error");
  });

  it("maps body parser failures to 400 and 413", async () => {
    const base = await serve([router()]);
    const bad = await fetch(`${base}/json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{x",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toBe("request body is not valid JSON");
    const big = await fetch(`${base}/json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "0123456789" }),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("answers unknown paths with a 404 problem", async () => {
    const base = await serve([router()]);
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { status: number }).status).toBe(404);
  });

  it("drains in-flight requests on close and runs closers in reverse", async () => {
    const order: string[] = [];
    const app = createApp({ logger, metrics: createMetrics({ defaultMetrics: false }), routers: [router()] });
    const server = await startServer(app, {
      port: 0,
      host: "127.0.0.1",
      logger,
      closers: [async () => void order.push("first"), async () => void order.push("second")],
    });
    const pending = fetch(`http://127.0.0.1:${server.port}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close();
    const res = await pending;
    expect(await res.json()).toEqual({ done: true });
    expect(order).toEqual(["second", "first"]);
  });
});

describe("forwarded headers", () => {
  async function clientAddressSeen(
    trustProxy: string | false | undefined,
    forwardedFor: string,
  ): Promise<string> {
    const echo = express.Router();
    echo.get("/ip", (req, res) => {
      res.json({ ip: req.ip });
    });
    const app = createApp({
      logger,
      metrics: createMetrics({ defaultMetrics: false }),
      routers: [echo],
      ...(trustProxy === undefined ? {} : { trustProxy }),
    });
    running = await startServer(app, { port: 0, host: "127.0.0.1", logger });
    const response = await fetch(`http://127.0.0.1:${running.port}/ip`, {
      headers: { "x-forwarded-for": forwardedFor },
    });
    const { ip } = (await response.json()) as { ip: string };
    await running.close();
    running = undefined;
    return ip;
  }

  it("believe X-Forwarded-For from a trusted proxy (loopback and private addresses by default)", async () => {
    expect(await clientAddressSeen(undefined, "203.0.113.7")).toBe("203.0.113.7");
  });

  it("ignore X-Forwarded-For from anyone else, so a client cannot choose the address it is counted as", async () => {
    expect(await clientAddressSeen("10.0.0.0/8", "203.0.113.7")).toMatch(/127\.0\.0\.1$/);
    expect(await clientAddressSeen(false, "203.0.113.7")).toMatch(/127\.0\.0\.1$/);
  });
});
