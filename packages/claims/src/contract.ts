/**
 * The behaviour every ClaimStore must show. Each test works on pools of a fresh random user, so the
 * suite can share one Redis server with other runs.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ClaimInputError } from "./pool-key";
import type { ClaimedKeyPackage, ClaimPoolKey, ClaimStore } from "./types";

export interface ClaimBackendUnderTest {
  /** Opens a store over the backend's shared state; for Redis, each one on its own connection. */
  openStore(): Promise<ClaimStore>;
  /** Releases what the backend itself holds (stores opened by the suite are closed by the suite). */
  cleanup(): Promise<void>;
}

const SUITE = 1;

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

export function runClaimStoreContractSuite(
  name: string,
  makeBackend: () => Promise<ClaimBackendUnderTest>,
): void {
  describe(`ClaimStore contract: ${name}`, () => {
    const opened: ClaimStore[] = [];
    // A promise, so stores opened concurrently in one test share the same backend.
    let backend: Promise<ClaimBackendUnderTest> | undefined;

    async function open(): Promise<ClaimStore> {
      backend ??= makeBackend();
      const store = await (await backend).openStore();
      opened.push(store);
      return store;
    }

    function freshPool(overrides: Partial<ClaimPoolKey> = {}): ClaimPoolKey {
      return { user: `u-${randomUUID()}@a.example`, client: "phone", ciphersuite: SUITE, ...overrides };
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
      const current = backend;
      backend = undefined;
      if (current) await (await current).cleanup();
    });

    it("hands out each added id once, oldest first, then reports null", async () => {
      const store = await open();
      const pool = freshPool();
      await store.add(pool, ["kp-a", "kp-b"]);
      await store.add(pool, ["kp-c"]);
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-a", lastResort: false });
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-b", lastResort: false });
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-c", lastResort: false });
      expect(await store.claim(pool)).toBeNull();
    });

    it("adds an id only once even when it is added again", async () => {
      const store = await open();
      const pool = freshPool();
      await store.add(pool, ["kp-a", "kp-a", "kp-b"]);
      await store.add(pool, ["kp-a"]);
      expect(await store.count(pool)).toEqual({ available: 2, hasLastResort: false });
      expect((await store.claim(pool))?.keyPackageId).toBe("kp-a");
    });

    it("gives 200 concurrent claims on a pool of 50 the 50 ids once each, then only the last resort", async () => {
      const stores = await Promise.all([open(), open(), open(), open()]);
      const [first] = stores;
      if (!first) throw new Error("no store opened");
      const pool = freshPool();
      const available = ids("kp", 50);
      await first.add(pool, available);
      await first.setLastResort(pool, "kp-last");

      const claims = await Promise.all(
        Array.from(
          { length: 200 },
          (_, i) => stores[i % stores.length]?.claim(pool) ?? Promise.resolve(null),
        ),
      );
      const single = claims.filter((c): c is ClaimedKeyPackage => c !== null && !c.lastResort);
      const lastResorts = claims.filter((c) => c?.lastResort === true);
      expect(claims.every((c) => c !== null)).toBe(true);
      expect(single).toHaveLength(50);
      expect(new Set(single.map((c) => c.keyPackageId))).toEqual(new Set(available));
      expect(lastResorts).toHaveLength(150);
      expect(lastResorts.every((c) => c?.keyPackageId === "kp-last")).toBe(true);
      expect(await first.count(pool)).toEqual({ available: 0, hasLastResort: true });
    });

    it("returns the last resort without consuming it once the pool is empty", async () => {
      const store = await open();
      const pool = freshPool();
      await store.setLastResort(pool, "kp-last");
      await store.add(pool, ["kp-a"]);
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-a", lastResort: false });
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-last", lastResort: true });
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-last", lastResort: true });
      expect(await store.count(pool)).toEqual({ available: 0, hasLastResort: true });
    });

    it("replaces the previous last resort", async () => {
      const store = await open();
      const pool = freshPool();
      await store.setLastResort(pool, "kp-last-1");
      await store.setLastResort(pool, "kp-last-2");
      expect(await store.claim(pool)).toEqual({ keyPackageId: "kp-last-2", lastResort: true });
    });

    it("keeps pools apart per user, client and ciphersuite", async () => {
      const store = await open();
      const alice = freshPool();
      const bob = { ...alice, user: `other-${alice.user}` };
      const aliceLaptop = { ...alice, client: "laptop" };
      const aliceOtherSuite = { ...alice, ciphersuite: 3 };
      await store.add(alice, ["alice-phone-1"]);
      await store.add(bob, ["bob-phone-1"]);
      await store.add(aliceLaptop, ["alice-laptop-1"]);
      await store.setLastResort(aliceOtherSuite, "alice-suite3-last");

      expect(await store.claim(bob)).toEqual({ keyPackageId: "bob-phone-1", lastResort: false });
      expect(await store.claim(bob)).toBeNull();
      expect(await store.claim(alice)).toEqual({ keyPackageId: "alice-phone-1", lastResort: false });
      expect(await store.claim(alice)).toBeNull();
      expect(await store.count(aliceLaptop)).toEqual({ available: 1, hasLastResort: false });
      expect(await store.count(aliceOtherSuite)).toEqual({ available: 0, hasLastResort: true });
      expect(await store.claim({ ...alice, ciphersuite: 2 })).toBeNull();
    });

    it("keeps a client id containing ':' apart from a similar-looking pool", async () => {
      const store = await open();
      const base = freshPool();
      await store.add({ ...base, client: "a:1", ciphersuite: 2 }, ["kp-colon"]);
      expect(await store.claim({ ...base, client: "a", ciphersuite: 1 })).toBeNull();
      expect(await store.count({ ...base, client: "a:1", ciphersuite: 2 })).toEqual({
        available: 1,
        hasLastResort: false,
      });
    });

    it("claimFirst takes from each list's first pool holding an id or a last resort", async () => {
      const store = await open();
      const phone = freshPool();
      const emptySuite = { ...phone, ciphersuite: 2 };
      const laptop = { ...phone, client: "laptop" };
      const laptopOtherSuite = { ...laptop, ciphersuite: 3 };
      const tablet = { ...phone, client: "tablet" };
      await store.add(phone, ["phone-1"]);
      await store.setLastResort(laptop, "laptop-last");
      await store.add(laptopOtherSuite, ["laptop-3-1"]);

      expect(await store.claimFirst([[emptySuite, phone], [laptop, laptopOtherSuite], [tablet]])).toEqual([
        { keyPackageId: "phone-1", lastResort: false, poolIndex: 1 },
        // A last resort earlier in the list comes before single-use ids of a later pool.
        { keyPackageId: "laptop-last", lastResort: true, poolIndex: 0 },
        null,
      ]);
      expect(await store.claimFirst([[emptySuite, phone], [laptopOtherSuite]])).toEqual([
        null,
        { keyPackageId: "laptop-3-1", lastResort: false, poolIndex: 0 },
      ]);
      expect(await store.count(laptop)).toEqual({ available: 0, hasLastResort: true });
      expect(await store.claimFirst([])).toEqual([]);
    });

    it("claimFirst hands each id out once under concurrent calls, then the last resort", async () => {
      const stores = await Promise.all([open(), open()]);
      const pool = freshPool();
      const available = ids("kp", 50);
      await stores[0]?.add(pool, available);
      await stores[0]?.setLastResort(pool, "kp-last");
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) => stores[i % 2]?.claimFirst([[pool]]) ?? Promise.resolve([])),
      );
      const claims = replies.map((reply) => reply[0]);
      const single = claims.filter((c) => c?.lastResort === false).map((c) => c?.keyPackageId);
      expect(new Set(single)).toEqual(new Set(available));
      expect(single).toHaveLength(50);
      expect(claims.filter((c) => c?.keyPackageId === "kp-last" && c.lastResort)).toHaveLength(50);
    });

    it("claimFirst refuses pools of different users and empty lists", async () => {
      const store = await open();
      const pool = freshPool();
      await store.add(pool, ["kp-a"]);
      await expect(store.claimFirst([[pool], [freshPool()]])).rejects.toThrow(/different users/);
      await expect(store.claimFirst([[pool], []])).rejects.toThrow(ClaimInputError);
      await expect(store.claimFirst([[{ ...pool, ciphersuite: 0 }]])).rejects.toThrow(/ciphersuite/);
      // Nothing was taken by the refused calls.
      expect(await store.count(pool)).toEqual({ available: 1, hasLastResort: false });
    });

    it("removes ids so they are never claimed, and removes a matching last resort", async () => {
      const store = await open();
      const pool = freshPool();
      await store.add(pool, ["kp-a", "kp-b", "kp-c"]);
      await store.setLastResort(pool, "kp-last");
      await store.remove(pool, ["kp-b", "kp-unknown"]);
      expect(await store.count(pool)).toEqual({ available: 2, hasLastResort: true });
      await store.remove(pool, ["kp-last"]);
      expect(await store.count(pool)).toEqual({ available: 2, hasLastResort: false });
      expect((await store.claim(pool))?.keyPackageId).toBe("kp-a");
      expect((await store.claim(pool))?.keyPackageId).toBe("kp-c");
      expect(await store.claim(pool)).toBeNull();
    });

    it("counts available ids as they are added and claimed", async () => {
      const store = await open();
      const pool = freshPool();
      expect(await store.count(pool)).toEqual({ available: 0, hasLastResort: false });
      await store.add(pool, ids("kp", 5));
      expect(await store.count(pool)).toEqual({ available: 5, hasLastResort: false });
      await store.claim(pool);
      expect(await store.count(pool)).toEqual({ available: 4, hasLastResort: false });
    });

    it("treats empty id lists as no-ops", async () => {
      const store = await open();
      const pool = freshPool();
      await store.add(pool, []);
      await store.remove(pool, []);
      expect(await store.count(pool)).toEqual({ available: 0, hasLastResort: false });
    });

    it("rejects invalid pool keys and ids with the reason", async () => {
      const store = await open();
      await expect(store.claim(freshPool({ user: "" }))).rejects.toThrow(ClaimInputError);
      await expect(store.claim(freshPool({ user: "a{b}@x" }))).rejects.toThrow(/braces/);
      await expect(store.count(freshPool({ ciphersuite: 0 }))).rejects.toThrow(/ciphersuite/);
      await expect(store.add(freshPool(), ["ok", ""])).rejects.toThrow(/empty/);
      await expect(store.setLastResort(freshPool(), "")).rejects.toThrow(ClaimInputError);
    });

    it("rejects calls after close, and close twice is fine", async () => {
      const store = await open();
      await store.close();
      await store.close();
      await expect(store.claim(freshPool())).rejects.toThrow(/closed/);
    });

    it("lets a second store over the same backend see the first one's pools", async () => {
      const [writer, reader] = await Promise.all([open(), open()]);
      const pool = freshPool();
      await writer.add(pool, ["kp-shared"]);
      expect(await reader.claim(pool)).toEqual({ keyPackageId: "kp-shared", lastResort: false });
      expect(await writer.claim(pool)).toBeNull();
    });
  });
}
