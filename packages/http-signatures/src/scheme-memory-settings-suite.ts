/**
 * The settings of a service's signature scheme memory, as every service that double-knocks must read
 * them: `<PREFIX>_SCHEME_MEMORY_ORIGINS` and `<PREFIX>_SCHEME_MEMORY_TTL_MS`, defaulting to the
 * process's shared memory and bounding a memory of the service's own otherwise. For the services'
 * tests (vitest).
 */
import { describe, expect, it } from "vitest";
import { processSchemeMemory, type SchemeMemory } from "./double-knock.js";

export interface SchemeMemorySettingsSubject {
  /** The service's variables, e.g. `MIMI_INBOX_SCHEME_MEMORY_ORIGINS`. */
  readonly originsVariable: string;
  readonly ttlVariable: string;
  /** The service's settings as read from `env` (throws on a bad value). */
  settingsOf(env: Record<string, string>): { schemeMemoryOrigins: number; schemeMemoryTtlMs: number };
  /** The memory a context built with the settings of `env` uses. */
  memoryOf(env: Record<string, string>): SchemeMemory;
}

export function schemeMemorySettingsSuite(subject: SchemeMemorySettingsSubject): void {
  const { originsVariable, ttlVariable, settingsOf, memoryOf } = subject;
  describe("the signature scheme memory's settings", () => {
    it("default to 10,000 origins for a day, in the memory the process shares", () => {
      const settings = settingsOf({});
      expect(settings.schemeMemoryOrigins).toBe(10_000);
      expect(settings.schemeMemoryTtlMs).toBe(86_400_000);
      expect(memoryOf({})).toBe(processSchemeMemory());
    });

    it(`bound the memory to ${originsVariable} for ${ttlVariable}`, async () => {
      const memory = memoryOf({ [originsVariable]: "2", [ttlVariable]: "150" });
      expect(memory).not.toBe(processSchemeMemory());
      memory.remember("http://one.test", "rfc9421");
      memory.remember("http://two.test", "cavage");
      memory.remember("http://three.test", "rfc9421");
      expect(memory.recall("http://one.test")).toBeUndefined();
      expect(memory.recall("http://two.test")).toBe("cavage");
      expect(memory.recall("http://three.test")).toBe("rfc9421");
      await new Promise((done) => setTimeout(done, 200));
      expect(memory.recall("http://three.test")).toBeUndefined();
    });

    it("refuse a count that is not positive", () => {
      expect(() => settingsOf({ [originsVariable]: "0" })).toThrow(new RegExp(originsVariable));
      expect(() => settingsOf({ [ttlVariable]: "0" })).toThrow(new RegExp(ttlVariable));
    });
  });
}
