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
  createRemoteActorCache,
  deliveryFanoutMigrations,
} from "../src/service.js";
import { eventually } from "./harness.js";

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

describe.skipIf(!databaseUrl)("PostgreSQL mailbox notifier under load and connection loss", () => {
  it("queues concurrent notifications on its one connection instead of running queries side by side", async () => {
    const deprecations: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === "DeprecationWarning") deprecations.push(warning.message);
    };
    process.on("warning", onWarning);
    const writer = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    const reader = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    try {
      const users = Array.from(
        { length: 40 },
        (_, index) => `burst_${randomBytes(3).toString("hex")}_${index}`,
      );
      const heard = users.map(
        (user) =>
          new Promise<number>((resolve) => {
            const unsubscribe = reader.subscribe(user, (cursor) => {
              if (cursor >= 3) {
                unsubscribe();
                resolve(cursor);
              }
            });
          }),
      );
      await Promise.all(users.flatMap((user) => [1, 2, 3].map((cursor) => writer.notify(user, cursor))));
      expect(await Promise.all(heard)).toEqual(users.map(() => 3));
      await new Promise((resolve) => setImmediate(resolve));
      expect(deprecations.filter((message) => message.includes("already executing a query"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await writer.close();
      await reader.close();
    }
  });

  it("a notification for a user called `error`, whom nobody here listens to, is just dropped", async () => {
    const writer = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    const reader = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    try {
      const heard = new Promise<number>((resolve) => reader.subscribe("after_error", resolve));
      await writer.notify("error", 1);
      await writer.notify("after_error", 2);
      // The reader handled both (in order) and is still alive.
      expect(await heard).toBe(2);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it("survives its connection being killed: reconnects, wakes its streams, and notifies again", async () => {
    const name = `mimi-notifier-test-${randomBytes(4).toString("hex")}`;
    const errors: unknown[] = [];
    const reader = await createPgNotifier({
      connectionString: databaseUrl ?? "",
      applicationName: name,
      reconnectDelayMs: 50,
      onError: (error) => errors.push(error),
    });
    const writer = await createPgNotifier({ connectionString: databaseUrl ?? "" });
    const admin = createPgSql({ connectionString: databaseUrl ?? "" });
    try {
      const cursors: number[] = [];
      reader.subscribe("kim", (cursor) => cursors.push(cursor));
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
        [name],
      );
      // Notifications sent while it was away are lost: after the reconnect every stream re-reads.
      await eventually(() => cursors.some((cursor) => cursor === Number.MAX_SAFE_INTEGER));
      expect(errors.length).toBeGreaterThan(0);
      await eventually(async () => {
        await writer.notify("kim", 7);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return cursors.includes(7);
      });
    } finally {
      await admin.close();
      await writer.close();
      await reader.close();
    }
  });

  it("a notification while its connection is down fails that call, not the process", async () => {
    const name = `mimi-notifier-test-${randomBytes(4).toString("hex")}`;
    const writer = await createPgNotifier({
      connectionString: databaseUrl ?? "",
      applicationName: name,
      reconnectDelayMs: 200,
      onError: () => undefined,
    });
    const admin = createPgSql({ connectionString: databaseUrl ?? "" });
    try {
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
        [name],
      );
      await eventually(async () => {
        try {
          await writer.notify("lee", 1);
          return false;
        } catch (error) {
          return (error as Error).message.length > 0;
        }
      });
      await eventually(async () => {
        try {
          await writer.notify("lee", 2);
          return true;
        } catch {
          return false;
        }
      });
    } finally {
      await admin.close();
      await writer.close();
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

      // An expired actor is still at hand when its refresh fails (read from SQL by a fresh process).
      const actor = {
        id: `https://${suffix}.test/users/ann`,
        inbox: `https://${suffix}.test/users/ann/inbox`,
        sharedInbox: undefined,
        publicKeyId: undefined,
      };
      await createRemoteActorCache(sql, { ttlMs: 1, maxEntries: 10 }).put(actor, 0);
      const fresh = createRemoteActorCache(sql, { ttlMs: 1, maxEntries: 10 });
      expect(await fresh.get(actor.id, Date.now())).toBeUndefined();
      expect(await fresh.getExpired(actor.id)).toEqual(actor);

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
