import { createInProcessBus } from "@mimi/bus";
import { channelSequencerMigrations, createChannelStore } from "@mimi/channel-sequencer";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger, createMetrics } from "@mimi/service-kit";
import { migrate, type Sql } from "@mimi/store";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createInboxIngestContext } from "../src/service.js";
import { createTestDatabase, KEK } from "./harness.js";

const alice = "http://b.test/users/alice";
let sql: Sql;
beforeAll(async () => {
  sql = await createTestDatabase();
  await migrate(sql, channelSequencerMigrations);
  // A channel as the sequencer stores one (its MLS state is never decoded here).
  await createChannelStore(sql).accept({
    channelId: "room",
    activityId: "http://b.test/activities/1",
    activity: {},
    change: {
      kind: "create",
      name: "room",
      attributedTo: alice,
      ciphersuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
      publicState: new Uint8Array([0]),
      groupInfo: new Uint8Array([0]),
      members: [{ leafIndex: 0, actorUrl: alice, acct: "acct:alice@b.test" }],
    },
    deliveriesFor: () => [],
  });
});
afterAll(() => sql.close());

it("asks channel-sequencer's read module about local channels when given no ports", async () => {
  const bus = createInProcessBus();
  const ctx = createInboxIngestContext({
    config: readProviderConfig({
      MIMI_DOMAIN: "b.test",
      MIMI_PUBLIC_URL: "http://b.test",
      MIMI_KEY_ENCRYPTION_KEY: KEK,
    }),
    sql,
    bus,
    logger: createLogger({ name: "inbox-ingest-test", level: "silent" }),
    metrics: createMetrics({ defaultMetrics: false }),
  });
  try {
    expect(await ctx.ports.channelExists("room")).toBe(true);
    expect(await ctx.ports.channelExists("other")).toBe(false);
    expect(await ctx.ports.localChannelFollowers?.("room")).toEqual([alice]);
    expect(await ctx.ports.localChannelFollowers?.("other")).toBeUndefined();
  } finally {
    await ctx.close();
    await bus.close();
  }
});
