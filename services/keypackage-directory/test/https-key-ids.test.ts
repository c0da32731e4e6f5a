import { actorKeyMigrations } from "@mimi/actor-keys";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger } from "@mimi/service-kit";
import { createPgliteSql, migrateAll, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createKeyPackageDirectoryContext,
  type KeyPackageDirectoryContext,
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

function contextFor(env: Record<string, string>): KeyPackageDirectoryContext {
  const config = readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: TEST_KEK, MIMI_DOMAIN: "b.test", ...env });
  const ctx = createKeyPackageDirectoryContext({
    config,
    sql,
    logger: createLogger({ name: "https-key-ids", level: "silent" }),
  });
  contexts.push(ctx);
  return ctx;
}

describe("claim signature key ids", () => {
  it("a production directory refuses a plain-http key id before any lookup", async () => {
    const ctx = contextFor({ MIMI_ENV: "production", MIMI_PUBLIC_URL: "https://b.test" });
    expect(await ctx.keys.resolve("http://a.test/users/alice#main-key", { refresh: false })).toEqual({
      ok: false,
      reason: "keyFetchError",
      detail:
        "keyId http://a.test/users/alice#main-key is not an https URL; this provider accepts only https key ids",
    });
  });

  it("a development directory still tries it", async () => {
    const ctx = contextFor({ MIMI_PUBLIC_URL: "http://b.test" });
    const resolved = await ctx.keys.resolve("http://a.test/users/alice#main-key", { refresh: false });
    // a.test is not mapped, so the fetch itself fails: the key id was not refused for its scheme.
    expect(resolved).toMatchObject({ ok: false, reason: "keyFetchError" });
    expect(resolved.ok ? "" : resolved.detail).not.toMatch(/not an https URL/);
  });
});
