import { actorKeyMigrations } from "@mimi/actor-keys";
import { processSchemeMemory } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createKeyPackageDirectoryContext,
  type KeyPackageDirectoryContext,
  keyPackageDirectoryConfigSpec,
  keyPackageDirectoryMigrations,
} from "../src/service.js";
import { TEST_KEK } from "./harness.js";

let sql: Sql;
const contexts: KeyPackageDirectoryContext[] = [];

beforeAll(async () => {
  sql = await createPgliteSql();
  await migrateAll(sql, [actorKeyMigrations, identityMigrations, keyPackageDirectoryMigrations]);
});

afterAll(async () => {
  for (const ctx of contexts) await ctx.close();
  await sql?.close();
});

function contextWith(env: Record<string, string>): KeyPackageDirectoryContext {
  const ctx = createKeyPackageDirectoryContext({
    config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: TEST_KEK, MIMI_DOMAIN: "b.test" }),
    sql,
    logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
    settings: readConfig(keyPackageDirectoryConfigSpec, env),
  });
  contexts.push(ctx);
  return ctx;
}

describe("the signature scheme memory's settings", () => {
  it("default to 10,000 origins for a day, in the memory the process shares", () => {
    const settings = readConfig(keyPackageDirectoryConfigSpec, {});
    expect(settings.schemeMemoryOrigins).toBe(10_000);
    expect(settings.schemeMemoryTtlMs).toBe(86_400_000);
    expect(contextWith({}).signatureSchemes).toBe(processSchemeMemory());
  });

  it("bound the memory to MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS for MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS", async () => {
    const memory = contextWith({
      MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS: "2",
      MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS: "150",
    }).signatureSchemes;
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
    expect(() =>
      readConfig(keyPackageDirectoryConfigSpec, { MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS: "0" }),
    ).toThrow(/MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS/);
  });
});
