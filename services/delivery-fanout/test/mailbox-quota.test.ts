import type { Sql } from "@mimi/store";
import type { UserInboxItem } from "@mimi/topics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAccount,
  createTestDatabase,
  eventually,
  publishToMailboxes,
  type RunningFanout,
  sleep,
  startFanout,
  testSettings,
} from "./harness.js";

let sql: Sql;
let fanout: RunningFanout;
let counter = 0;

beforeAll(async () => {
  sql = await createTestDatabase();
  for (const name of ["quinn", "rosa", "saul"]) await createAccount(sql, name);
  const defaults = testSettings();
  fanout = await startFanout(sql, {
    settings: testSettings({
      mailboxQuota: { ...defaults.mailboxQuota, maxItems: 3, maxBytes: 4_000 },
    }),
  });
});
afterAll(async () => {
  await fanout.stop();
  await sql.close();
});

function item(username: string, contentBytes = 10): UserInboxItem {
  const activityId = `https://b.test/activities/${++counter}`;
  return {
    username,
    activityId,
    activity: { id: activityId, type: "Create", content: "c".repeat(contentBytes) },
    deliveredBy: "https://b.test/users/bob",
    receivedAt: new Date().toISOString(),
  };
}

const deliver = (...items: UserInboxItem[]) => publishToMailboxes(fanout.bus, items);

async function stored(username: string): Promise<number> {
  const result = await sql.query<{ n: string }>(
    "select count(*) as n from delivery.mailbox where username = $1",
    [username],
  );
  return Number(result.rows[0]?.n);
}

describe("mailbox quota and retention", () => {
  it("refuses items past the item quota and marks the user; others are unaffected", async () => {
    await deliver(item("quinn"), item("quinn"), item("quinn"), item("quinn"), item("quinn"), item("rosa"));
    await eventually(async () => (await stored("rosa")) === 1);
    await sleep(200);
    expect(await stored("quinn")).toBe(3);
    const usage = await fanout.ctx.mailbox.usage(["quinn", "rosa"]);
    expect(usage.get("quinn")?.items).toBe(3);
    expect(usage.get("rosa")?.items).toBe(1);
    const marks = await sql.query<{ username: string }>(
      "select username from delivery.mailbox_usage where refused_at is not null",
    );
    expect(marks.rows.map((row) => row.username)).toEqual(["quinn"]);
  });

  it("refuses items past the byte quota: at most the quota is stored, whatever arrives", async () => {
    for (let round = 0; round < 5; round++) await deliver(item("saul", 1_500));
    await sleep(300);
    const usage = (await fanout.ctx.mailbox.usage(["saul"])).get("saul");
    expect(usage?.items).toBe(2);
    expect(usage?.bytes).toBeLessThanOrEqual(4_000);
  });

  it("deletes items past retention and gives their room back", async () => {
    await sql.query(
      "update delivery.mailbox set stored_at = now() - interval '31 days' where username = 'quinn'",
    );
    const deleted = await fanout.ctx.mailbox.prune(new Date(Date.now() - 30 * 24 * 60 * 60_000), 2);
    expect(deleted).toBe(2);
    expect(await fanout.ctx.mailbox.prune(new Date(Date.now() - 30 * 24 * 60 * 60_000), 2)).toBe(1);
    expect(await stored("quinn")).toBe(0);
    expect((await fanout.ctx.mailbox.usage(["quinn"])).get("quinn")).toEqual({ items: 0, bytes: 0 });
    const marks = await sql.query<{ username: string }>(
      "select username from delivery.mailbox_usage where refused_at is not null",
    );
    expect(marks.rows.map((row) => row.username)).toEqual(["saul"]);
    await deliver(item("quinn"));
    await eventually(async () => (await stored("quinn")) === 1);
  });
});
