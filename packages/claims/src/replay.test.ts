import { randomUUID } from "node:crypto";
import { deleteRedisKeys } from "@mimi/testkit/redis";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ReplayGuardFullError } from "./replay";
import { runReplayGuardContractSuite } from "./replay-contract";
import { createMemoryReplayGuard, createMemoryReplayLedger } from "./replay-memory";
import { createRedisReplayGuard } from "./replay-redis";

runReplayGuardContractSuite("memory", async () => {
  const ledger = createMemoryReplayLedger();
  let clock = Date.now();
  return {
    openGuard: async () => createMemoryReplayGuard({ ledger, now: () => clock }),
    elapse: async (seconds) => {
      clock += seconds * 1000;
    },
    cleanup: async () => {},
  };
});

describe("memory replay guard bound", () => {
  function boundedGuard(maxEntries: number) {
    let clock = 1_000_000;
    const ledger = createMemoryReplayLedger();
    const guard = createMemoryReplayGuard({ maxEntries, ledger, now: () => clock });
    return {
      guard,
      ledger,
      elapse: (seconds: number) => {
        clock += seconds * 1000;
      },
    };
  }

  it("refuses new keys while full, saying when room is made, and never forgets an unexpired key", async () => {
    const { guard, elapse } = boundedGuard(2);
    expect(await guard.firstUse("a", 10)).toBe(true);
    expect(await guard.firstUse("b", 30)).toBe(true);
    const refused = guard.firstUse("c", 10);
    await expect(refused).rejects.toThrow(ReplayGuardFullError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 10 });
    // Both remembered keys are still refused as repeats.
    expect(await guard.firstUse("a", 10)).toBe(false);
    expect(await guard.firstUse("b", 30)).toBe(false);

    elapse(4);
    await expect(guard.firstUse("c", 10)).rejects.toMatchObject({ retryAfterSeconds: 6 });
    elapse(6);
    // "a" expired: its room goes to "c", while "b" is still remembered.
    expect(await guard.firstUse("c", 10)).toBe(true);
    expect(await guard.firstUse("b", 30)).toBe(false);
    await expect(guard.firstUse("d", 10)).rejects.toThrow(ReplayGuardFullError);
  });

  it("reuses an expired key's own entry without needing room", async () => {
    const { guard, ledger, elapse } = boundedGuard(1);
    expect(await guard.firstUse("a", 5)).toBe(true);
    elapse(5);
    expect(await guard.firstUse("a", 5)).toBe(true);
    expect(ledger.expiries.size).toBe(1);
  });

  it("drops expired keys when it needs room, and holds no more than its bound", async () => {
    const { guard, ledger, elapse } = boundedGuard(3);
    for (const key of ["a", "b", "c"]) expect(await guard.firstUse(key, 1)).toBe(true);
    elapse(1);
    for (const key of ["d", "e", "f"]) expect(await guard.firstUse(key, 1)).toBe(true);
    expect([...ledger.expiries.keys()].sort()).toEqual(["d", "e", "f"]);
  });

  it("refuses a bound that is not a positive integer", () => {
    expect(() => createMemoryReplayGuard({ maxEntries: 0 })).toThrow(RangeError);
  });
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("Redis replay guard (REDIS_URL)", () => {
  const url = redisUrl ?? "";
  const keyPrefix = `mimi-test:${randomUUID()}:replay:`;

  const deleteKeys = () => deleteRedisKeys(url, keyPrefix);

  runReplayGuardContractSuite("redis, own connections", async () => ({
    openGuard: async () => createRedisReplayGuard({ url, keyPrefix }),
    // Redis expires keys by its own clock.
    elapse: (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
    cleanup: deleteKeys,
  }));

  it("stores a use as one prefixed key that Redis expires after the ttl", async () => {
    const redis = new Redis(url);
    const guard = createRedisReplayGuard({ redis, keyPrefix });
    try {
      expect(await guard.firstUse("sig-digest", 120)).toBe(true);
      expect(await redis.get(`${keyPrefix}sig-digest`)).toBe("1");
      const ttl = await redis.ttl(`${keyPrefix}sig-digest`);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
      // A repeat leaves the expiry as it was.
      expect(await guard.firstUse("sig-digest", 3600)).toBe(false);
      expect(await redis.ttl(`${keyPrefix}sig-digest`)).toBeLessThanOrEqual(120);
    } finally {
      await guard.close();
      expect(await redis.ping()).toBe("PONG");
      await redis.quit();
      await deleteKeys();
    }
  });
});
