import { actorKeyMigrations } from "@mimi/actor-keys";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import { createPgliteSql, migrateAll } from "@mimi/store";
import {
  createKeyPackageDirectoryContext,
  keyPackageDirectoryConfigSpec,
  keyPackageDirectoryMigrations,
} from "../src/service.js";
import { TEST_KEK } from "./harness.js";

schemeMemorySettingsSuite({
  originsVariable: "MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(keyPackageDirectoryConfigSpec, env),
  async openDatabase() {
    const sql = await createPgliteSql();
    await migrateAll(sql, [actorKeyMigrations, identityMigrations, keyPackageDirectoryMigrations]);
    return sql;
  },
  contextOf: (sql, env) =>
    createKeyPackageDirectoryContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: TEST_KEK, MIMI_DOMAIN: "b.test" }),
      sql,
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      settings: readConfig(keyPackageDirectoryConfigSpec, env),
    }),
});
