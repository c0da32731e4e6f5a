/**
 * The behaviour every ReplayGuard must show. Each test uses fresh random keys, so the suite can share
 * one Redis server with other runs.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ClaimInputError } from "./pool-key";
import { MAX_REPLAY_KEY_LENGTH, MAX_REPLAY_TTL_SECONDS, type ReplayGuard } from "./replay";

export interface ReplayBackendUnderTest {
  /** Opens a guard over the backend's shared state; for Redis, each one on its own connection. */
  openGuard(): Promise<ReplayGuard>;
  /** Lets `seconds` pass for the backend's expiry (a test clock, or real time for Redis). */
  elapse(seconds: number): Promise<void>;
  /** Releases what the backend itself holds (guards opened by the suite are closed by the suite). */
  cleanup(): Promise<void>;
}

export function runReplayGuardContractSuite(
  name: string,
  makeBackend: () => Promise<ReplayBackendUnderTest>,
): void {
  describe(`ReplayGuard contract: ${name}`, () => {
    const opened: ReplayGuard[] = [];
    let backend: Promise<ReplayBackendUnderTest> | undefined;

    async function current(): Promise<ReplayBackendUnderTest> {
      backend ??= makeBackend();
      return backend;
    }

    async function open(): Promise<ReplayGuard> {
      const guard = await (await current()).openGuard();
      opened.push(guard);
      return guard;
    }

    const freshKey = () => `k-${randomUUID()}`;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((guard) => guard.close()));
      const done = backend;
      backend = undefined;
      if (done) await (await done).cleanup();
    });

    it("accepts a key once and refuses its repeats", async () => {
      const guard = await open();
      const key = freshKey();
      expect(await guard.firstUse(key, 60)).toBe(true);
      expect(await guard.firstUse(key, 60)).toBe(false);
      expect(await guard.firstUse(key, 60)).toBe(false);
    });

    it("keeps keys apart", async () => {
      const guard = await open();
      const [first, second] = [freshKey(), freshKey()];
      expect(await guard.firstUse(first, 60)).toBe(true);
      expect(await guard.firstUse(second, 60)).toBe(true);
      expect(await guard.firstUse(first, 60)).toBe(false);
    });

    it("gives exactly one of 100 concurrent uses of a key, over several guards, true", async () => {
      const guards = await Promise.all([open(), open(), open(), open()]);
      const key = freshKey();
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => guards[i % guards.length]?.firstUse(key, 60)),
      );
      expect(answers.filter((answer) => answer === true)).toHaveLength(1);
      expect(answers.filter((answer) => answer === false)).toHaveLength(99);
    });

    it("forgets a key when its time is up, and a repeat does not extend that time", async () => {
      const guard = await open();
      const [short, long, repeated] = [freshKey(), freshKey(), freshKey()];
      expect(await guard.firstUse(short, 1)).toBe(true);
      expect(await guard.firstUse(long, 60)).toBe(true);
      expect(await guard.firstUse(repeated, 1)).toBe(true);
      expect(await guard.firstUse(repeated, 60)).toBe(false);
      await (await current()).elapse(1.5);
      expect(await guard.firstUse(short, 1)).toBe(true);
      expect(await guard.firstUse(repeated, 1)).toBe(true);
      expect(await guard.firstUse(long, 60)).toBe(false);
    });

    it("lets a second guard over the same backend see the first one's keys", async () => {
      const [first, second] = await Promise.all([open(), open()]);
      const key = freshKey();
      expect(await first.firstUse(key, 60)).toBe(true);
      expect(await second.firstUse(key, 60)).toBe(false);
    });

    it("rejects empty or overlong keys and ttls outside 1..a year, remembering nothing", async () => {
      const guard = await open();
      const key = freshKey();
      await expect(guard.firstUse("", 60)).rejects.toThrow(ClaimInputError);
      await expect(guard.firstUse("k".repeat(MAX_REPLAY_KEY_LENGTH + 1), 60)).rejects.toThrow(/longer/);
      await expect(guard.firstUse(key, 0)).rejects.toThrow(/ttl/);
      await expect(guard.firstUse(key, 1.5)).rejects.toThrow(/ttl/);
      await expect(guard.firstUse(key, MAX_REPLAY_TTL_SECONDS + 1)).rejects.toThrow(/ttl/);
      expect(await guard.firstUse(key, MAX_REPLAY_TTL_SECONDS)).toBe(true);
    });

    it("rejects calls after close, and close twice is fine", async () => {
      const guard = await open();
      await guard.close();
      await guard.close();
      await expect(guard.firstUse(freshKey(), 60)).rejects.toThrow(/closed/);
    });
  });
}
