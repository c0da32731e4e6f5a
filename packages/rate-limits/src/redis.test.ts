import { randomUUID } from "node:crypto";
import { deleteRedisKeys } from "@mimi/testkit/redis";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { runRateLimiterContractSuite } from "./contract.js";
import { createRedisRateLimiters } from "./redis.js";

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("Redis rate limiters (REDIS_URL)", () => {
  const url = redisUrl ?? "";
  // A prefix per run keeps these keys apart from anything else on the server.
  const keyPrefix = `mimi-test:${randomUUID()}:rl:`;

  runRateLimiterContractSuite("redis, own connections", () => ({
    open: async () => {
      const limiters = createRedisRateLimiters({ url, keyPrefix });
      await limiters.ready();
      return limiters;
    },
    cleanup: () => deleteRedisKeys(url, keyPrefix),
  }));

  it("keeps its counts under the key prefix, and leaves a caller's client open", async () => {
    const redis = new Redis(url);
    const limiters = createRedisRateLimiters({ redis, keyPrefix });
    try {
      await limiters.ready();
      await limiters.limiter("login", { points: 5, durationSeconds: 60 }).consume("alice");
      expect(await redis.keys(`${keyPrefix}login*`)).toHaveLength(1);
      await redis.del(...(await redis.keys(`${keyPrefix}*`)));
    } finally {
      await limiters.close();
      expect(await redis.ping()).toBe("PONG");
      await redis.quit();
    }
  });
});

describe("Redis rate limiters while Redis cannot be reached", () => {
  it("still limit, counting in this process's memory", async () => {
    const errors: Error[] = [];
    // Port 1 refuses connections: every command fails at once.
    const limiters = createRedisRateLimiters({
      url: "redis://127.0.0.1:1",
      commandTimeoutMs: 200,
      onError: (error) => errors.push(error),
    });
    try {
      const limiter = limiters.limiter("outage", { points: 2, durationSeconds: 60 });
      const decisions = [];
      for (let i = 0; i < 3; i += 1) decisions.push((await limiter.consume("k")).allowed);
      expect(decisions).toEqual([true, true, false]);
    } finally {
      await limiters.close();
    }
  });
});
