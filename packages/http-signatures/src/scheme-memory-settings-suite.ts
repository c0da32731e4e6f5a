/**
 * The settings of a service's signature scheme memory, as every service that double-knocks must read
 * them: `<PREFIX>_SCHEME_MEMORY_ORIGINS` and `<PREFIX>_SCHEME_MEMORY_TTL_MS`, defaulting to the
 * process's shared memory and bounding a memory of the service's own otherwise. For the services'
 * tests (vitest).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processSchemeMemory, type SchemeMemory } from "./double-knock.js";

/** A context built for the suite: the memory it uses, and how to close it. */
export interface SchemeMemoryContext {
  readonly signatureSchemes: SchemeMemory;
  close(): Promise<void>;
}

export interface SchemeMemorySettingsSubject<Database extends { close(): Promise<void> }> {
  /** The service's variables, e.g. `MIMI_INBOX_SCHEME_MEMORY_ORIGINS`. */
  readonly originsVariable: string;
  readonly ttlVariable: string;
  /** The service's settings as read from `env` (throws on a bad value). */
  settingsOf(env: Record<string, string>): { schemeMemoryOrigins: number; schemeMemoryTtlMs: number };
  /** The database the service's contexts need, opened once for the suite and closed after it. */
  openDatabase(): Promise<Database>;
  /** A context of the service built with the settings of `env`; the suite closes it. */
  contextOf(database: Database, env: Record<string, string>): SchemeMemoryContext;
}

export function schemeMemorySettingsSuite<Database extends { close(): Promise<void> }>(
  subject: SchemeMemorySettingsSubject<Database>,
): void {
  const { originsVariable, ttlVariable, settingsOf } = subject;
  let database: Database | undefined;
  const contexts: SchemeMemoryContext[] = [];
  const memoryOf = (env: Record<string, string>): SchemeMemory => {
    if (!database) throw new Error("the database is not open");
    const context = subject.contextOf(database, env);
    contexts.push(context);
    return context.signatureSchemes;
  };
  describe("the signature scheme memory's settings", () => {
    beforeAll(async () => {
      database = await subject.openDatabase();
    });
    afterAll(async () => {
      for (const context of contexts) await context.close();
      await database?.close();
    });

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
