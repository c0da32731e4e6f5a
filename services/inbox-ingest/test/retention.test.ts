import { readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSeenActivities, inboxIngestConfigSpec, startInboxIngestWorkers } from "../src/service.js";
import { createTestDatabase, startTestIngest, type TestIngest } from "./harness.js";

let sql: Sql;
let ingest: TestIngest;

beforeAll(async () => {
  sql = await createTestDatabase();
  ingest = await startTestIngest({ sql, settings: { dedupeRetentionHours: 24 } });
});

afterAll(async () => {
  await ingest?.close();
  await sql?.close();
});

describe("configuration", () => {
  it("defaults to a 4 MiB body limit, one hour of clock skew, 14 days of dedupe keys, 30 s of members, 30 s of accounts", () => {
    expect(readConfig(inboxIngestConfigSpec, {})).toEqual({
      bodyLimitBytes: 4 * 1024 * 1024,
      clockSkewSeconds: 3600,
      dedupeRetentionHours: 336,
      membershipTtlSeconds: 30,
      accountCacheSeconds: 30,
      maxAddresses: 1000,
      maxRecipients: 1000,
      maxCopyBytes: 64 * 1024 * 1024,
      dmMaxParticipants: 32,
      dmEpochWindow: 1,
      dmGroupCacheEntries: 10_000,
      dmGroupCacheTtlSeconds: 60,
      dmGroupCacheMaxStaleSeconds: 86_400,
      schemeMemoryOrigins: 10_000,
      schemeMemoryTtlMs: 86_400_000,
      redisUrl: "",
      rateLimitRedisPrefix: "mimi:rl:",
      inboxPerAddress: { points: 30000, durationSeconds: 60 },
      inboxPerOrigin: { points: 30000, durationSeconds: 60 },
      outboxPerUser: { points: 600, durationSeconds: 60 },
    });
    expect(readConfig(inboxIngestConfigSpec, { MIMI_INBOX_BODY_LIMIT: "1024" }).bodyLimitBytes).toBe(1024);
    expect(() => readConfig(inboxIngestConfigSpec, { MIMI_INBOX_BODY_LIMIT: "lots" })).toThrow(
      /MIMI_INBOX_BODY_LIMIT/,
    );
  });
});

describe("dedupe keys", () => {
  it("are remembered once per activity, target and sender", async () => {
    const seen = createSeenActivities(sql);
    const key = {
      activityId: "https://a.test/activities/k",
      target: "user:bob",
      sender: "https://a.test/users/x",
    };
    expect(await seen.remember(key)).toBe(true);
    expect(await seen.remember(key)).toBe(false);
    expect(await seen.remember({ ...key, target: "shared" })).toBe(true);
    expect(await seen.remember({ ...key, sender: "https://c.test/channels/r" })).toBe(true);
    await seen.forget(key);
    expect(await seen.remember(key)).toBe(true);
  });

  it("answer concurrent calls from one insert: each new key once, a key asked twice new for its first caller", async () => {
    const seen = createSeenActivities(sql);
    const key = (n: number) => ({
      activityId: `https://a.test/activities/concurrent-${n}`,
      target: "user:bob",
      sender: "https://a.test/users/x",
    });
    expect(await seen.remember(key(0))).toBe(true);
    const answers = await Promise.all([
      seen.remember(key(1)),
      seen.remember(key(0)),
      seen.remember(key(2)),
      seen.remember(key(1)),
      seen.remember({ ...key(2), target: "shared" }),
    ]);
    expect(answers).toEqual([true, false, true, false, true]);
    const rows = await sql.query<{ n: number }>(
      "select count(*)::int as n from ingest.seen_activities where activity_id like 'https://a.test/activities/concurrent-%'",
    );
    expect(rows.rows[0]?.n).toBe(4);
  });

  it("are pruned by the worker once older than the retention", async () => {
    await sql.query(
      `insert into ingest.seen_activities (activity_id, target, sender, seen_at) values
       ('https://a.test/old', 'shared', 's', now() - interval '25 hours'),
       ('https://a.test/recent', 'shared', 's', now() - interval '23 hours')`,
    );
    const workers = await startInboxIngestWorkers(ingest.ctx);
    await workers.stop();
    const left = await sql.query<{ activity_id: string }>(
      "select activity_id from ingest.seen_activities where activity_id in ('https://a.test/old', 'https://a.test/recent')",
    );
    expect(left.rows.map((row) => row.activity_id)).toEqual(["https://a.test/recent"]);
  });
});
