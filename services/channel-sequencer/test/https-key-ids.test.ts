import { readProviderConfig } from "@mimi/provider-config";
import { createLogger } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChannelSequencerContext, createChannelSequencerContext } from "../src/service.js";
import { createTestDatabase, KEK, recordingBus } from "./harness.js";

let sql: Sql;
const contexts: ChannelSequencerContext[] = [];

beforeAll(async () => {
  sql = await createTestDatabase();
});

afterAll(async () => {
  for (const ctx of contexts) await ctx.close();
  await sql?.close();
});

function contextFor(env: Record<string, string>): ChannelSequencerContext {
  const config = readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: KEK, ...env });
  const ctx = createChannelSequencerContext({
    config,
    sql,
    bus: recordingBus(),
    logger: createLogger({ name: "https-key-ids", level: "silent" }),
  });
  contexts.push(ctx);
  return ctx;
}

describe("signature key ids", () => {
  it("a production sequencer refuses a plain-http key id before any lookup", async () => {
    const ctx = contextFor({
      MIMI_ENV: "production",
      MIMI_DOMAIN: "b.test",
      MIMI_PUBLIC_URL: "https://b.test",
    });
    const resolved = await ctx.keys.resolve("http://a.test/users/alice#main-key", { refresh: false });
    expect(resolved).toEqual({
      ok: false,
      reason: "keyFetchError",
      detail:
        "keyId http://a.test/users/alice#main-key is not an https URL; this provider accepts only https key ids",
    });
  });

  it("a development sequencer still tries it", async () => {
    const ctx = contextFor({ MIMI_DOMAIN: "b.test", MIMI_PUBLIC_URL: "http://b.test" });
    const resolved = await ctx.keys.resolve("http://a.test/users/alice#main-key", { refresh: false });
    // a.test is not mapped, so the fetch itself fails: the key id was not refused for its scheme.
    expect(resolved).toMatchObject({ ok: false, reason: "keyFetchError" });
    expect(resolved.ok ? "" : resolved.detail).not.toMatch(/not an https URL/);
  });
});
