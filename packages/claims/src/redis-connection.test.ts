import { randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "@mimi/testkit/net";
import { deleteRedisKeys } from "@mimi/testkit/redis";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRedisClaimStore } from "./redis";
import { ClaimStateUnavailableError, isRedisOutage } from "./redis-connection";
import { createRedisReplayGuard } from "./replay-redis";

const pool = { user: "alice@a.example", client: "phone", ciphersuite: 1 };

describe("isRedisOutage", () => {
  it("counts connection failures and transient replies, not other reply errors", () => {
    const reply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });
    expect(isRedisOutage(new Error("Command timed out"))).toBe(true);
    expect(isRedisOutage(new Error("Connection is closed."))).toBe(true);
    expect(isRedisOutage(reply("LOADING Redis is loading the dataset in memory"))).toBe(true);
    expect(isRedisOutage(reply("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isRedisOutage(reply("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBe(
      false,
    );
    expect(isRedisOutage("not an error")).toBe(false);
  });
});

describe("Redis outage", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("rejects claims and replay checks with ClaimStateUnavailableError within the command timeout, with the error listened to", async () => {
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    const errors: Error[] = [];
    const url = `redis://127.0.0.1:${await freePort()}`;
    const options = { url, commandTimeoutMs: 200, onError: (error: Error) => errors.push(error) };
    const store = createRedisClaimStore(options);
    const guard = createRedisReplayGuard(options);
    try {
      await expect(store.claim(pool)).rejects.toThrow(ClaimStateUnavailableError);
      await expect(store.claimFirst([[pool]])).rejects.toThrow(ClaimStateUnavailableError);
      await expect(store.count(pool)).rejects.toThrow(ClaimStateUnavailableError);
      await expect(store.setLastResort(pool, "kp-last")).rejects.toThrow(ClaimStateUnavailableError);
      await expect(guard.firstUse("sig", 60)).rejects.toThrow(ClaimStateUnavailableError);
      // Connection errors reach the listener (once per outage and connection), never ioredis's
      // "Unhandled error event" print.
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(errors.length).toBeLessThanOrEqual(2);
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      await store.close();
      await guard.close();
    }
  });
});

/** A TCP relay to the real Redis that can be cut and restored, so the outage is a real one. */
async function relayTo(
  target: URL,
): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("no port");
    port = address.port;
  };
  await start();
  return {
    get port() {
      return port;
    },
    cut: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    },
    restore: start,
  };
}

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("Redis outage and recovery (REDIS_URL)", () => {
  it("answers unavailable while Redis is unreachable and serves again once it is back", async () => {
    const relay = await relayTo(new URL(redisUrl ?? ""));
    const errors: Error[] = [];
    const keyPrefix = `mimi-test:${randomUUID()}:`;
    const options = {
      url: `redis://127.0.0.1:${relay.port}`,
      keyPrefix,
      commandTimeoutMs: 300,
      onError: (error: Error) => errors.push(error),
    };
    const store = createRedisClaimStore(options);
    const guard = createRedisReplayGuard(options);
    const testPool = { ...pool, user: `u-${randomUUID()}@a.example` };
    try {
      await store.add(testPool, ["kp-1", "kp-2"]);
      expect(await guard.firstUse("before", 60)).toBe(true);

      await relay.cut();
      await expect(store.claim(testPool)).rejects.toThrow(ClaimStateUnavailableError);
      await expect(guard.firstUse("during", 60)).rejects.toThrow(ClaimStateUnavailableError);
      expect(errors.length).toBeGreaterThanOrEqual(1);

      await relay.restore();
      // Reconnection is retried every two seconds at most; the next commands after it succeed.
      const deadline = Date.now() + 10_000;
      let claimed: Awaited<ReturnType<typeof store.claim>> | undefined;
      while (claimed === undefined) {
        try {
          claimed = await store.claim(testPool);
        } catch (error) {
          if (!(error instanceof ClaimStateUnavailableError) || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      expect(claimed?.keyPackageId).toMatch(/^kp-[12]$/);
      expect(await guard.firstUse("before", 60)).toBe(false);
      expect(await guard.firstUse("after", 60)).toBe(true);
    } finally {
      await store.close();
      await guard.close();
      await relay.cut();
      await deleteRedisKeys(redisUrl ?? "", keyPrefix);
    }
  });
});
