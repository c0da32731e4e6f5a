import { randomUUID } from "node:crypto";
import { createRedisRateLimiters } from "@mimi/rate-limits";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { postJson, startTestIdentity, type TestIdentity } from "./harness.js";

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("login limits shared by replicas over Redis (REDIS_URL)", () => {
  const url = redisUrl ?? "";
  const keyPrefix = `mimi-test:${randomUUID()}:rl:a.test:`;
  const started: TestIdentity[] = [];
  const backends: Array<ReturnType<typeof createRedisRateLimiters>> = [];

  afterAll(async () => {
    for (const identity of started) await identity.close();
    for (const backend of backends) await backend.close();
    const admin = new Redis(url);
    try {
      const keys = await admin.keys(`${keyPrefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    } finally {
      await admin.quit();
    }
  });

  it("refuses on one replica the logins an account failed on another", async () => {
    // Two replicas of identity over one database, each with its own Redis connection.
    const first = await startReplica();
    const second = await startReplica(first);
    const created = await postJson(`${first.base}/api/v1/accounts`, {
      username: "shared",
      password: "shared password",
    });
    expect(created.status).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const replica = i % 2 === 0 ? first : second;
      const res = await postJson(`${replica.base}/api/v1/tokens`, {
        username: "shared",
        password: `wrong ${i}`,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    const onFirst = await postJson(`${first.base}/api/v1/tokens`, {
      username: "shared",
      password: "shared password",
    });
    expect(onFirst.status).toBe(429);
  });

  async function startReplica(sharing?: TestIdentity): Promise<TestIdentity> {
    const backend = createRedisRateLimiters({ url, keyPrefix });
    await backend.ready();
    backends.push(backend);
    const identity = await startTestIdentity({
      ...(sharing ? { sql: sharing.sql } : {}),
      env: { MIMI_LOGIN_LIMIT_PER_ACCOUNT: "3/900" },
      rateLimiters: backend,
    });
    started.push(identity);
    return identity;
  }
});
