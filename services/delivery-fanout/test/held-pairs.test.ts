import { randomBytes } from "node:crypto";
import { type BusRecord, createInProcessBus } from "@mimi/bus";
import { migrate } from "@mimi/store";
import { openPglite, openPostgres, type TestBackend } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHeldPairStore, type DeliveryToStore, deliveryFanoutMigrations } from "../src/service.js";
import { eventually } from "./harness.js";

const databaseUrl = process.env.DATABASE_URL;
const backends: Array<[string, () => Promise<TestBackend>]> = [["PGlite", openPglite]];
if (databaseUrl) backends.push(["PostgreSQL", () => openPostgres(databaseUrl, "delivery_fanout_test")]);

const TOPIC = "held.test.jobs";
const RELEASE = "delivery-release";
const SIGNER = "https://a.test/channels/c1";

function delivery(ordinal: number, activity: string, inbox = "https://b.test/inbox"): DeliveryToStore {
  return {
    ordinal,
    activityId: `https://a.test/activities/${activity}`,
    inbox,
    payload: JSON.stringify({ activityId: activity }),
    headers: { traceparent: `00-${activity}` },
    attempts: 1,
  };
}

describe.each(backends)("held pairs on %s", (_name, open) => {
  let backend: TestBackend;
  const bus = createInProcessBus({ partitions: 1 });
  const released: BusRecord[] = [];

  beforeAll(async () => {
    backend = await open();
    await migrate(backend.sql, deliveryFanoutMigrations);
    await bus.subscribe({
      groupId: "held-test",
      topics: [TOPIC],
      handle: async (record) => {
        released.push(record);
        return { kind: "ok" };
      },
    });
  });
  afterAll(async () => {
    await bus.close();
    await backend.dispose();
  });

  const storeAt = (nowMs: () => number) =>
    createHeldPairStore(backend.sql, bus, {
      topic: TOPIC,
      releaseHeader: RELEASE,
      leaseMs: 60_000,
      now: nowMs,
    });

  it("stores deliveries behind a hold in order, once each, above what is stored, and ends the hold only when empty", async () => {
    const store = storeAt(Date.now);
    const pair = { signer: SIGNER, destination: `https://${randomBytes(4).toString("hex")}.test` };
    expect(await store.check(pair)).toEqual({ held: false, lastOrdinal: undefined });
    const hold = { dueAtMs: Date.now() + 60_000, reason: "HTTP 503" };
    expect(
      await store.persist(pair, [delivery(3, "m1"), delivery(4, "m2"), delivery(5, "m1")], hold, Date.now()),
    ).toEqual([3, 4, undefined]);
    expect(await store.check(pair)).toEqual({ held: true, lastOrdinal: 4 });
    // An ordinal below what is stored is raised: the new delivery goes behind.
    expect(await store.persist(pair, [delivery(0, "m3"), delivery(1, "m4")], undefined, Date.now())).toEqual([
      5, 6,
    ]);
    const all = await store.load(pair, undefined, 10);
    expect(all.map((row) => [row.ordinal, JSON.parse(row.payload).activityId])).toEqual([
      [3, "m1"],
      [4, "m2"],
      [5, "m3"],
      [6, "m4"],
    ]);
    expect(all[0]?.headers).toEqual({ traceparent: "00-m1" });
    expect((await store.load(pair, 3, 2)).map((row) => row.ordinal)).toEqual([4, 5]);

    await store.recordAttempts(pair, 3, 4);
    expect((await store.load(pair, undefined, 1))[0]?.attempts).toBe(4);
    expect(await store.unhold(pair)).toBe(false);
    for (const ordinal of [3, 4, 5, 6]) await store.remove(pair, ordinal);
    expect(await store.unhold(pair)).toBe(true);
    expect(await store.check(pair)).toEqual({ held: false, lastOrdinal: undefined });
    expect(await store.unhold(pair)).toBe(true);
  });

  it("releases each due pair once, with its oldest delivery, under the destination's key, then not again until the lease ends", async () => {
    let now = Date.now();
    const store = storeAt(() => now);
    const destination = `https://${randomBytes(4).toString("hex")}.test`;
    const due = { signer: SIGNER, destination };
    const later = { signer: "https://a.test/users/alice", destination };
    const empty = { signer: "https://a.test/users/zoe", destination };
    await store.persist(
      due,
      [delivery(0, "d1"), delivery(1, "d2")],
      { dueAtMs: now - 1, reason: "HTTP 503" },
      now,
    );
    await store.persist(later, [delivery(0, "l1")], { dueAtMs: now + 30_000, reason: "HTTP 503" }, now);
    // A hold left without deliveries (a drain that stopped before ending it) is cleaned up.
    await store.persist(empty, [], { dueAtMs: now - 1, reason: "HTTP 503" }, now);

    released.length = 0;
    const other = storeAt(() => now);
    const counts = await Promise.all([store.releaseDue(now), other.releaseDue(now)]);
    expect(counts[0] + counts[1]).toBe(1);
    await eventually(() => released.length === 1);
    expect(released[0]?.key).toBe(destination);
    expect(released[0]?.headers[RELEASE]).toBe("1");
    expect(released[0]?.headers.traceparent).toBe("00-d1");
    expect(JSON.parse(new TextDecoder().decode(released[0]?.value))).toEqual({ activityId: "d1" });
    expect(await store.check(empty)).toEqual({ held: false, lastOrdinal: undefined });

    // Released pairs wait for their drain; after the lease they are released again.
    expect(await store.releaseDue(now + 1_000)).toBe(0);
    now += 60_001;
    expect(await store.releaseDue(now)).toBe(2);
    await eventually(() => released.length === 3);
  });

  it("wakes a destination's held pairs, except those whose destination asked for more time", async () => {
    const now = Date.now();
    const store = storeAt(() => now);
    const destination = `https://${randomBytes(4).toString("hex")}.test`;
    const backingOff = { signer: SIGNER, destination };
    const askedToWait = { signer: "https://a.test/users/alice", destination };
    const elsewhere = { signer: SIGNER, destination: `https://${randomBytes(4).toString("hex")}.test` };
    await store.persist(backingOff, [delivery(0, "w1")], { dueAtMs: now + 600_000, reason: "HTTP 503" }, now);
    await store.persist(
      askedToWait,
      [delivery(0, "w2")],
      { dueAtMs: now + 600_000, notBeforeMs: now + 300_000, reason: "HTTP 429" },
      now,
    );
    await store.persist(elsewhere, [delivery(0, "w3")], { dueAtMs: now + 600_000, reason: "HTTP 503" }, now);
    expect(await store.wake(destination, now)).toBe(1);
    released.length = 0;
    expect(await store.releaseDue(now)).toBe(1);
    await eventually(() => released.length === 1);
    expect(JSON.parse(new TextDecoder().decode(released[0]?.value))).toEqual({ activityId: "w1" });
  });
});
