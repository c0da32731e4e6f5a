import { randomUUID } from "node:crypto";
import { deleteRedisKeys } from "@mimi/testkit/redis";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { runClaimStoreContractSuite } from "./contract";
import { createRedisClaimStore, parseClaimFirstReply, parseClaimReply } from "./redis";

describe("parseClaimReply", () => {
  it("reads a single-use id, a last resort and an empty pool", () => {
    expect(parseClaimReply(["kp-1", 0])).toEqual({ keyPackageId: "kp-1", lastResort: false });
    expect(parseClaimReply([Buffer.from("kp-2"), 1])).toEqual({ keyPackageId: "kp-2", lastResort: true });
    expect(parseClaimReply(null)).toBeNull();
  });

  it("refuses replies of another shape", () => {
    expect(() => parseClaimReply(["kp-1"])).toThrow(/unexpected/);
    expect(() => parseClaimReply(["kp-1", 2])).toThrow(/unexpected/);
    expect(() => parseClaimReply("kp-1")).toThrow(/unexpected/);
  });
});

describe("parseClaimFirstReply", () => {
  it("reads one entry per list: a claim with its pool index, or null", () => {
    expect(parseClaimFirstReply([[1, "kp-1", 0], [], [0, Buffer.from("kp-last"), 1]], 3)).toEqual([
      { keyPackageId: "kp-1", lastResort: false, poolIndex: 1 },
      null,
      { keyPackageId: "kp-last", lastResort: true, poolIndex: 0 },
    ]);
  });

  it("refuses replies of another shape or length", () => {
    expect(() => parseClaimFirstReply([[1, "kp-1", 0]], 2)).toThrow(/unexpected/);
    expect(() => parseClaimFirstReply([["1", "kp-1", 0]], 1)).toThrow(/unexpected/);
    expect(() => parseClaimFirstReply([[1, "kp-1"]], 1)).toThrow(/unexpected/);
    expect(() => parseClaimFirstReply(null, 0)).toThrow(/unexpected/);
  });
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("Redis claim store (REDIS_URL)", () => {
  const url = redisUrl ?? "";
  // A prefix per run keeps these keys apart from anything else on the server.
  const keyPrefix = `mimi-test:${randomUUID()}:kp:`;

  runClaimStoreContractSuite("redis, own connections", async () => ({
    openStore: async () => createRedisClaimStore({ url, keyPrefix }),
    cleanup: () => deleteRedisKeys(url, keyPrefix),
  }));

  it("stores a pool under the user's hash tag, so Redis Cluster keeps it in one slot", async () => {
    const redis = new Redis(url);
    const store = createRedisClaimStore({ redis, keyPrefix });
    try {
      const pool = { user: "alice@a.example", client: "phone", ciphersuite: 1 };
      await store.add(pool, ["kp-1"]);
      await store.setLastResort(pool, "kp-last");
      const keys = (await redis.keys(`${keyPrefix}*alice@a.example*`)).sort();
      expect(keys).toEqual([
        `${keyPrefix}{alice@a.example}:phone:1:available`,
        `${keyPrefix}{alice@a.example}:phone:1:last-resort`,
      ]);
      // Redis Cluster hashes only the part between the first '{' and the next '}'.
      const hashTags = keys.map((key) => key.slice(key.indexOf("{") + 1, key.indexOf("}", key.indexOf("{"))));
      expect(hashTags).toEqual(["alice@a.example", "alice@a.example"]);
      await redis.del(...keys);
    } finally {
      await store.close();
      // A caller-owned client stays open after the store closes.
      expect(await redis.ping()).toBe("PONG");
      await redis.quit();
    }
  });

  it("reloads its scripts after the server's script cache is flushed", async () => {
    const redis = new Redis(url);
    const store = createRedisClaimStore({ redis, keyPrefix });
    try {
      const pool = { user: `u-${randomUUID()}@a.example`, client: "phone", ciphersuite: 1 };
      await store.add(pool, ["kp-1", "kp-2"]);
      await redis.script("FLUSH");
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-1", lastResort: false });
      await store.remove(pool, ["kp-2"]);
      expect(await store.claim(pool)).toBeNull();
    } finally {
      await store.close();
      await redis.quit();
    }
  });
});
