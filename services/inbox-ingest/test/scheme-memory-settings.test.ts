import { createInProcessBus } from "@mimi/bus";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, createMetrics, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll } from "vitest";
import { createInboxIngestContext, type InboxIngestContext, inboxIngestConfigSpec } from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

let sql: Sql;
const contexts: InboxIngestContext[] = [];

beforeAll(async () => {
  sql = await createTestDatabase();
});

afterAll(async () => {
  for (const ctx of contexts) await ctx.close();
  await sql?.close();
});

schemeMemorySettingsSuite({
  originsVariable: "MIMI_INBOX_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_INBOX_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(inboxIngestConfigSpec, env),
  memoryOf(env) {
    const ctx = createInboxIngestContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "b.test" }),
      sql,
      bus: createInProcessBus({ partitions: 1 }),
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      metrics: createMetrics({ defaultMetrics: false }),
      settings: readConfig(inboxIngestConfigSpec, env),
    });
    contexts.push(ctx);
    return ctx.signatureSchemes;
  },
});
