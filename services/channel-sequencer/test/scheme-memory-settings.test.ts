import { createInProcessBus } from "@mimi/bus";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll } from "vitest";
import {
  type ChannelSequencerContext,
  channelSequencerConfigSpec,
  createChannelSequencerContext,
} from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

let sql: Sql;
const contexts: ChannelSequencerContext[] = [];

beforeAll(async () => {
  sql = await createTestDatabase();
});

afterAll(async () => {
  for (const ctx of contexts) await ctx.close();
  await sql?.close();
});

schemeMemorySettingsSuite({
  originsVariable: "MIMI_CHANNEL_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_CHANNEL_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(channelSequencerConfigSpec, env),
  memoryOf(env) {
    const ctx = createChannelSequencerContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "a.test" }),
      sql,
      bus: createInProcessBus({ partitions: 1 }),
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      settings: readConfig(channelSequencerConfigSpec, env),
    });
    contexts.push(ctx);
    return ctx.signatureSchemes;
  },
});
