import { createInProcessBus } from "@mimi/bus";
import { schemeMemorySettingsSuite } from "@mimi/http-signatures/scheme-memory-settings-suite";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  type DeliveryFanoutContext,
  deliveryFanoutConfigSpec,
  deliverySettingsFrom,
} from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

let sql: Sql;
const contexts: DeliveryFanoutContext[] = [];

beforeAll(async () => {
  sql = await createTestDatabase();
});

afterAll(async () => {
  for (const ctx of contexts) await closeDeliveryFanout(ctx);
  await sql?.close();
});

schemeMemorySettingsSuite({
  originsVariable: "MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS",
  ttlVariable: "MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS",
  settingsOf: (env) => readConfig(deliveryFanoutConfigSpec, env),
  memoryOf(env) {
    const ctx = createDeliveryFanoutContext({
      config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "a.test" }),
      sql,
      logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
      bus: createInProcessBus({ partitions: 1 }),
      settings: deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, env)),
    });
    contexts.push(ctx);
    return ctx.signatureSchemes;
  },
});

it("hands the bounds to the delivery settings", () => {
  expect(
    deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, { MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS: "7" }))
      .signatureSchemes,
  ).toEqual({ maxEntries: 7, ttlMs: 86_400_000 });
});
