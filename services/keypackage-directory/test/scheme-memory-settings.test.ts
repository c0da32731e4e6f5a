import { actorKeyMigrations } from "@mimi/actor-keys";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import { afterAll, beforeAll } from "vitest";
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

schemeMemorySettingsSuite({
  originsVariable: "MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(keyPackageDirectoryConfigSpec, env),
  memoryOf(env) {
    const ctx = createKeyPackageDirectoryContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: TEST_KEK, MIMI_DOMAIN: "b.test" }),
      sql,
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      settings: readConfig(keyPackageDirectoryConfigSpec, env),
    });
    contexts.push(ctx);
    return ctx.signatureSchemes;
  },
});
