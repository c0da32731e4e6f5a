import { createInProcessBus } from "@mimi/bus";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import { channelSequencerConfigSpec, createChannelSequencerContext } from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

schemeMemorySettingsSuite({
  originsVariable: "MIMI_CHANNEL_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_CHANNEL_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(channelSequencerConfigSpec, env),
  openDatabase: createTestDatabase,
  contextOf: (sql, env) =>
    createChannelSequencerContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "a.test" }),
      sql,
      bus: createInProcessBus({ partitions: 1 }),
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      settings: readConfig(channelSequencerConfigSpec, env),
    }),
});
