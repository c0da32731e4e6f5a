import { createInProcessBus } from "@mimi/bus";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import { expect, it } from "vitest";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  deliveryFanoutConfigSpec,
  deliverySettingsFrom,
} from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

schemeMemorySettingsSuite({
  originsVariable: "MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(deliveryFanoutConfigSpec, env),
  openDatabase: createTestDatabase,
  contextOf(sql, env) {
    const ctx = createDeliveryFanoutContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "a.test" }),
      sql,
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      bus: createInProcessBus({ partitions: 1 }),
      settings: deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, env)),
    });
    return { signatureSchemes: ctx.signatureSchemes, close: () => closeDeliveryFanout(ctx) };
  },
});

it("hands the bounds to the delivery settings", () => {
  expect(
    deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, { MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS: "7" }))
      .signatureSchemes,
  ).toEqual({ maxEntries: 7, ttlMs: 86_400_000 });
});
