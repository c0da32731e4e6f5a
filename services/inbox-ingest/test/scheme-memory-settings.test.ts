import { createInProcessBus } from "@mimi/bus";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, createMetrics, readConfig } from "@mimi/service-kit";
import { createInboxIngestContext, inboxIngestConfigSpec } from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

schemeMemorySettingsSuite({
  originsVariable: "MIMI_INBOX_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_INBOX_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(inboxIngestConfigSpec, env),
  openDatabase: createTestDatabase,
  contextOf: (sql, env) =>
    createInboxIngestContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "b.test" }),
      sql,
      bus: createInProcessBus({ partitions: 1 }),
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      metrics: createMetrics({ defaultMetrics: false }),
      settings: readConfig(inboxIngestConfigSpec, env),
    }),
});
