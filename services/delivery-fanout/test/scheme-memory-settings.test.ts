import { createInProcessBus } from "@mimi/bus";
import { processSchemeMemory } from "@mimi/http-signatures";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

function contextWith(env: Record<string, string>): DeliveryFanoutContext {
  const ctx = createDeliveryFanoutContext({
    config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, MIMI_DOMAIN: "a.test" }),
    sql,
    logger: createLogger({ name: "scheme-memory-settings", level: "silent" }),
    bus: createInProcessBus({ partitions: 1 }),
    settings: deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, env)),
  });
  contexts.push(ctx);
  return ctx;
}

describe("the signature scheme memory's settings", () => {
  it("default to 10,000 origins for a day, in the memory the process shares", () => {
    expect(deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, {})).signatureSchemes).toEqual({
      maxEntries: 10_000,
      ttlMs: 86_400_000,
    });
    expect(contextWith({}).signatureSchemes).toBe(processSchemeMemory());
  });

  it("bound the memory to MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS for MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS", async () => {
    const memory = contextWith({
      MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS: "2",
      MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS: "150",
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

  it("refuse a lifetime that is not positive", () => {
    expect(() => readConfig(deliveryFanoutConfigSpec, { MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS: "0" })).toThrow(
      /MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS/,
    );
  });
});
