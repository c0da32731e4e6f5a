import { randomBytes } from "node:crypto";
import { createInProcessBus } from "@mimi/bus";
import { createPgSql, migrate } from "@mimi/store";
import { describe, expect, it } from "vitest";
import {
  createDeadLetters,
  createDestinationHealth,
  createMailboxStore,
  createMessageScheduler,
  createPgNotifier,
  deliveryFanoutMigrations,
} from "../src/service.js";

const databaseUrl = process.env.DATABASE_URL;

/** Needs a real PostgreSQL (LISTEN/NOTIFY): `bash ../../scripts/infra up && eval "$(bash ../../scripts/infra env)"`. */
describe.skipIf(!databaseUrl)("PostgreSQL mailbox notifier", () => {
  it("carries a notification from one process's notifier to another's subscribers", async () => {
    const writer = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    const reader = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    try {
      const forAlice = new Promise<number>((resolve) => reader.subscribe("alice", resolve));
      let bobHeard = false;
      const unsubscribe = reader.subscribe("bob", () => {
        bobHeard = true;
      });
      await writer.notify("alice", 42);
      expect(await forAlice).toBe(42);
      expect(bobHeard).toBe(false);
      unsubscribe();
      expect(reader.listenerCount("bob")).toBe(0);
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});

describe.skipIf(!databaseUrl)("delivery-fanout SQL on PostgreSQL", () => {
  it("runs the migrations and the stores' queries on pg as on PGlite", async () => {
    const sql = createPgSql({ connectionString: databaseUrl ?? "" });
    const suffix = randomBytes(4).toString("hex");
    const bus = createInProcessBus({ partitions: 1 });
    try {
      await migrate(sql, deliveryFanoutMigrations);
      const mailbox = createMailboxStore(sql);
      const user = `pg_${suffix}`;
      const first = await mailbox.append({
        username: user,
        activityId: "https://b.test/1",
        activity: { id: "https://b.test/1" },
        deliveredBy: "x",
        receivedAt: new Date(),
      });
      expect(
        await mailbox.append({
          username: user,
          activityId: "https://b.test/1",
          activity: {},
          deliveredBy: "x",
          receivedAt: new Date(),
        }),
      ).toBeUndefined();
      expect((await mailbox.page(user, 0, 10)).map((item) => item.cursor)).toEqual([first]);

      const health = createDestinationHealth(sql, { unavailableAfterDays: 2 });
      const origin = `https://${suffix}.test`;
      await health.recordFailure(origin, Date.parse("2025-01-01T00:00:00Z"));
      const state = await health.recordFailure(origin, Date.parse("2025-01-02T00:00:00Z"));
      expect(state.unavailableSinceMs).toBeDefined();
      expect((await health.load(origin)).failureDays).toEqual(["2025-01-01", "2025-01-02"]);
      await health.markAvailable(origin);
      expect((await health.load(origin)).failureDays).toEqual([]);

      const topic = `test.${suffix}`;
      const received: string[] = [];
      await bus.subscribe({
        groupId: "g",
        topics: [topic],
        handle: async (record) => {
          received.push(record.key);
          return { kind: "ok" };
        },
      });
      const scheduler = createMessageScheduler(sql, bus, Date.now);
      await scheduler.schedule(topic, { key: suffix, value: new Uint8Array([1, 2]) }, 0, "test");
      expect(await scheduler.releaseDue(Date.now())).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toContain(suffix);

      const deadLetters = createDeadLetters(sql);
      await deadLetters.record({
        activityId: `https://a.test/${suffix}`,
        inbox: undefined,
        recipients: ["r"],
        reason: "why",
        attempts: 2,
        firstAttemptAt: new Date(),
      });
      expect(
        (await deadLetters.recent(5)).find((letter) => letter.activityId === `https://a.test/${suffix}`)
          ?.recipients,
      ).toEqual(["r"]);
    } finally {
      await bus.close();
      await sql.close();
    }
  });
});
