import { createInProcessBus } from "@mimi/bus";
import { channelSequencerMigrations, createChannelStore } from "@mimi/channel-sequencer";
import { readProviderConfig } from "@mimi/provider-config";
import { createLogger } from "@mimi/service-kit";
import { migrate, type Sql } from "@mimi/store";
import { afterAll, beforeAll, expect, it } from "vitest";
import { closeDeliveryFanout, createDeliveryFanoutContext } from "../src/service.js";
import { createTestDatabase, KEK, testSettings } from "./harness.js";

const alice = "http://a.test/users/alice";
const bob = "https://b.test/users/bob";
let sql: Sql;
beforeAll(async () => {
  sql = await createTestDatabase();
  await migrate(sql, channelSequencerMigrations);
  // A channel as the sequencer stores one (its MLS state is never decoded here).
  await createChannelStore(sql).accept({
    channelId: "room",
    activityId: "http://a.test/activities/1",
    activity: {},
    change: {
      kind: "create",
      name: "room",
      attributedTo: alice,
      ciphersuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
      publicState: new Uint8Array([0]),
      groupInfo: new Uint8Array([0]),
      members: [
        { leafIndex: 0, actorUrl: alice, acct: "acct:alice@a.test" },
        { leafIndex: 1, actorUrl: bob, acct: "acct:bob@b.test" },
      ],
    },
    deliveriesFor: () => [],
  });
});
afterAll(() => sql.close());

it("expands local channels' followers through channel-sequencer's read module by default", async () => {
  const config = readProviderConfig({
    MIMI_DOMAIN: "a.test",
    MIMI_PUBLIC_URL: "http://a.test",
    MIMI_KEY_ENCRYPTION_KEY: KEK,
  });
  const bus = createInProcessBus();
  const ctx = createDeliveryFanoutContext({
    config,
    sql,
    logger: createLogger({ name: "delivery-fanout-test", level: "silent" }),
    bus,
    settings: testSettings(),
  });
  try {
    expect(await ctx.localCollections(config.urls.channelFollowers("room"))).toEqual([alice, bob]);
    expect(await ctx.localCollections(config.urls.channelFollowers("other"))).toBeUndefined();
    expect(await ctx.localCollections("https://b.test/channels/room/followers")).toBeUndefined();
  } finally {
    await closeDeliveryFanout(ctx);
    await bus.close();
  }
});
