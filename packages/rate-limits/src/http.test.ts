import type { AddressInfo } from "node:net";
import { createApp, createLogger, createMetrics } from "@mimi/service-kit";
import { Router } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAddress, rateLimit, rateLimitAccepted } from "./http.js";
import { createMemoryRateLimiters } from "./memory.js";

/** Serves `router` on a free local port: its base URL, and how to stop it. */
async function serve(router: Router): Promise<{ base: string; close: () => Promise<void> }> {
  const app = createApp({
    logger: createLogger({ name: "rate-limits-test", level: "silent" }),
    metrics: createMetrics({ defaultMetrics: false }),
    routers: [router],
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("rateLimit middleware", () => {
  const limiters = createMemoryRateLimiters();
  const limiter = limiters.limiter("test-signups", { points: 2, durationSeconds: 30 });
  let handled = 0;
  let base = "";
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const router = Router();
    router.post(
      "/limited",
      rateLimit(limiter, (req) => clientAddress(req)),
      (_req, res) => {
        handled += 1;
        res.status(201).json({ ok: true });
      },
    );
    router.post(
      "/keyless",
      rateLimit(limiter, () => undefined),
      (_req, res) => {
        res.status(204).end();
      },
    );
    ({ base, close } = await serve(router));
  });
  afterAll(() => close());

  it("passes requests within the limit and answers the next 429 problem+json with Retry-After", async () => {
    const statuses = [];
    for (let i = 0; i < 2; i += 1) statuses.push((await fetch(`${base}/limited`, { method: "POST" })).status);
    expect(statuses).toEqual([201, 201]);
    const refused = await fetch(`${base}/limited`, { method: "POST" });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(await refused.json()).toMatchObject({ status: 429, reason: "rateLimited", limit: "test-signups" });
    // The refused request never reached the handler.
    expect(handled).toBe(2);
  });

  it("lets a request without a key through", async () => {
    expect((await fetch(`${base}/keyless`, { method: "POST" })).status).toBe(204);
  });
});

describe("rateLimitAccepted middleware", () => {
  const limiter = createMemoryRateLimiters().limiter("test-accepted", { points: 2, durationSeconds: 30 });
  let base = "";
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const router = Router();
    router.post(
      "/submit/:status",
      rateLimitAccepted(limiter, () => "origin-a", { acceptedStatus: 202 }),
      (req, res) => {
        res.status(Number(req.params.status)).end();
      },
    );
    ({ base, close } = await serve(router));
  });

  afterAll(() => close());

  it("spends only on accepted answers, and refuses once those have spent the window", async () => {
    const post = (status: number) => fetch(`${base}/submit/${status}`, { method: "POST" });
    for (let i = 0; i < 5; i++) expect((await post(401)).status).toBe(401);
    expect((await post(202)).status).toBe(202);
    expect((await post(202)).status).toBe(202);
    // The count is spent after the answer is sent: wait until both are counted.
    for (let i = 0; i < 50 && (await limiter.peek("origin-a")).allowed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const refused = await post(202);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ reason: "rateLimited", limit: "test-accepted" });
  });
});
