/**
 * The behaviour every RateLimiterBackend must show. Each test uses limits of fresh random names and
 * keys, so the suite can share one Redis server with other runs.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { RateLimiterBackend } from "./types.js";

export interface RateLimitBackendUnderTest {
  /** Opens a backend over shared counts; for Redis, each one on its own connection. */
  open(): Promise<RateLimiterBackend>;
  /** Releases what the test left behind (backends opened by the suite are closed by the suite). */
  cleanup(): Promise<void>;
}

function freshName(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

export function runRateLimiterContractSuite(
  name: string,
  makeBackend: () => RateLimitBackendUnderTest,
): void {
  describe(`RateLimiterBackend contract: ${name}`, () => {
    const opened: RateLimiterBackend[] = [];
    let backend: RateLimitBackendUnderTest | undefined;

    async function open(): Promise<RateLimiterBackend> {
      backend ??= makeBackend();
      const limiters = await backend.open();
      opened.push(limiters);
      return limiters;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((limiters) => limiters.close()));
      const current = backend;
      backend = undefined;
      await current?.cleanup();
    });

    it("allows the rule's points in a window, then refuses with a retry time within the window", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 3, durationSeconds: 60 });
      const decisions = [];
      for (let i = 0; i < 4; i += 1) decisions.push(await limiter.consume("k"));
      expect(decisions.slice(0, 3)).toEqual([
        { allowed: true, remaining: 2 },
        { allowed: true, remaining: 1 },
        { allowed: true, remaining: 0 },
      ]);
      const refused = decisions[3];
      expect(refused?.allowed).toBe(false);
      if (refused && !refused.allowed) {
        expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
      }
    });

    it("counts each key on its own, and each limit name on its own", async () => {
      const limiters = await open();
      const name = freshName();
      const a = limiters.limiter(name, { points: 1, durationSeconds: 60 });
      const b = limiters.limiter(freshName(), { points: 1, durationSeconds: 60 });
      expect((await a.consume("k1")).allowed).toBe(true);
      expect((await a.consume("k1")).allowed).toBe(false);
      expect((await a.consume("k2")).allowed).toBe(true);
      expect((await b.consume("k1")).allowed).toBe(true);
    });

    it("spends a request's cost at once, and refuses a cost larger than what is left", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 5, durationSeconds: 60 });
      expect(await limiter.consume("k", 4)).toEqual({ allowed: true, remaining: 1 });
      expect((await limiter.consume("k", 2)).allowed).toBe(false);
    });

    it("peeks without spending, and sees a spent window as refused", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 2, durationSeconds: 60 });
      expect(await limiter.peek("k")).toEqual({ allowed: true, remaining: 2 });
      expect(await limiter.peek("k")).toEqual({ allowed: true, remaining: 2 });
      await limiter.consume("k");
      expect(await limiter.peek("k")).toEqual({ allowed: true, remaining: 1 });
      expect((await limiter.peek("k", 2)).allowed).toBe(false);
      await limiter.consume("k");
      const refused = await limiter.peek("k");
      expect(refused.allowed).toBe(false);
      if (!refused.allowed) expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    });

    it("forgets a key on reset", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 1, durationSeconds: 60 });
      await limiter.consume("k");
      expect((await limiter.consume("k")).allowed).toBe(false);
      await limiter.reset("k");
      expect((await limiter.consume("k")).allowed).toBe(true);
    });

    it("allows again once the window has passed", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 1, durationSeconds: 1 });
      expect((await limiter.consume("k")).allowed).toBe(true);
      expect((await limiter.consume("k")).allowed).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect((await limiter.consume("k")).allowed).toBe(true);
    });

    it("never allows more than the points when many requests consume at once", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 7, durationSeconds: 60 });
      const decisions = await Promise.all(Array.from({ length: 40 }, () => limiter.consume("k")));
      expect(decisions.filter((decision) => decision.allowed)).toHaveLength(7);
    });

    it("shares counts between limiters of one name, as replicas of a service do", async () => {
      const name = freshName();
      const rule = { points: 2, durationSeconds: 60 };
      const first = (await open()).limiter(name, rule);
      const second = (await open()).limiter(name, rule);
      expect((await first.consume("k")).allowed).toBe(true);
      expect((await second.consume("k")).allowed).toBe(true);
      expect((await first.consume("k")).allowed).toBe(false);
      expect((await second.peek("k")).allowed).toBe(false);
    });

    it("never refuses under a rule of 0 points (the limit turned off)", async () => {
      const limiter = (await open()).limiter(freshName(), { points: 0, durationSeconds: 1 });
      for (let i = 0; i < 20; i += 1) expect((await limiter.consume("k")).allowed).toBe(true);
      expect((await limiter.peek("k")).allowed).toBe(true);
    });

    it("refuses a bad name or rule when the limiter is made", async () => {
      const limiters = await open();
      expect(() => limiters.limiter("Bad Name", { points: 1, durationSeconds: 1 })).toThrow(RangeError);
      expect(() => limiters.limiter(freshName(), { points: -1, durationSeconds: 1 })).toThrow(RangeError);
      expect(() => limiters.limiter(freshName(), { points: 1, durationSeconds: 0 })).toThrow(RangeError);
      expect(() => limiters.limiter(freshName(), { points: 1.5, durationSeconds: 1 })).toThrow(RangeError);
    });
  });
}
