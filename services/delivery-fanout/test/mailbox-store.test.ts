import { randomBytes } from "node:crypto";
import { createPgliteSql, createPgSql, migrate, type Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMailboxStore, deliveryFanoutMigrations, type NewMailboxItem } from "../src/service.js";

const databaseUrl = process.env.DATABASE_URL;
const backends: Array<[string, () => Promise<Sql>]> = [["PGlite", async () => createPgliteSql()]];
if (databaseUrl) backends.push(["PostgreSQL", async () => createPgSql({ connectionString: databaseUrl })]);

const item = (username: string, activityId: string): NewMailboxItem => ({
  username,
  activityId,
  activity: { id: activityId },
  deliveredBy: "https://b.test/users/x",
  receivedAt: new Date(),
});

describe.each(backends)("mailbox appendMany on %s", (_name, open) => {
  let sql: Sql;
  beforeAll(async () => {
    sql = await open();
    await migrate(sql, deliveryFanoutMigrations);
  });
  afterAll(async () => {
    await sql.close();
  });

  it("stores a batch in the order given, skipping duplicates, and returns each item's cursor", async () => {
    const suffix = randomBytes(4).toString("hex");
    const [ann, ben] = [`ann_${suffix}`, `ben_${suffix}`];
    const mailbox = createMailboxStore(sql);
    const earlier = await mailbox.append(item(ann, "https://b.test/0"));
    const cursors = await mailbox.appendMany([
      item(ann, "https://b.test/1"),
      item(ben, "https://b.test/1"),
      item(ann, "https://b.test/0"),
      item(ann, "https://b.test/2"),
      item(ann, "https://b.test/1"),
      item(ben, "https://b.test/3"),
    ]);
    expect(cursors.map((cursor) => cursor === undefined)).toEqual([false, false, true, false, true, false]);
    const [a1, b1, , a2, , b3] = cursors as number[];
    expect(earlier).toBeDefined();
    expect(a1).toBeGreaterThan(Number(earlier));
    expect(a2).toBeGreaterThan(a1!);
    expect(b3).toBeGreaterThan(b1!);
    const annPage = await mailbox.page(ann, 0, 10);
    expect(annPage.map((entry) => entry.activityId)).toEqual([
      "https://b.test/0",
      "https://b.test/1",
      "https://b.test/2",
    ]);
    expect(annPage.map((entry) => entry.cursor)).toEqual([Number(earlier), a1, a2]);
    expect(annPage.map((entry) => entry.deliveredBy)).toEqual([
      "https://b.test/users/x",
      "https://b.test/users/x",
      "https://b.test/users/x",
    ]);
    expect((await mailbox.page(ben, 0, 10)).map((entry) => entry.cursor)).toEqual([b1, b3]);
    expect(await mailbox.appendMany([])).toEqual([]);
  });
});
