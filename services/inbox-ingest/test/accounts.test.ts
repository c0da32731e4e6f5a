import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalAccounts } from "../src/ingest/accounts.js";
import { createAccount, createTestDatabase } from "./harness.js";

let sql: Sql;

beforeAll(async () => {
  sql = await createTestDatabase();
});

afterAll(async () => {
  await sql?.close();
});

/** Counts the queries that reach the database. */
function countingSql(inner: Sql): { sql: Sql; queries: () => number } {
  let queries = 0;
  const counted: Sql = Object.create(inner);
  counted.query = (text, params) => {
    queries++;
    return inner.query(text, params);
  };
  return { sql: counted, queries: () => queries };
}

describe("local accounts", () => {
  it("remembers accounts found, never unknown names: an account created later is found at once", async () => {
    await createAccount(sql, "carol");
    const counting = countingSql(sql);
    let clock = 1_000;
    const accounts = createLocalAccounts(counting.sql, { ttlMs: 60_000, now: () => clock });

    expect([...(await accounts.existing(["carol", "dave"]))]).toEqual(["carol"]);
    expect(counting.queries()).toBe(1);
    expect([...(await accounts.existing(["carol"]))]).toEqual(["carol"]);
    expect(counting.queries()).toBe(1);

    // dave was missing: asked again, and found once the account exists.
    expect([...(await accounts.existing(["dave"]))]).toEqual([]);
    await createAccount(sql, "dave");
    expect([...(await accounts.existing(["dave"]))]).toEqual(["dave"]);
    expect(counting.queries()).toBe(3);

    // After the time-to-live the account is looked up again (a removed account stops being found).
    clock += 60_001;
    await sql.query("delete from identity.accounts where username = 'carol'");
    expect([...(await accounts.existing(["carol"]))]).toEqual([]);
  });

  it("answers concurrent lookups of uncached names with one query", async () => {
    await createAccount(sql, "erin");
    await createAccount(sql, "frank");
    const counting = countingSql(sql);
    const accounts = createLocalAccounts(counting.sql, { ttlMs: 60_000 });
    const answers = await Promise.all([
      accounts.existing(["erin"]),
      accounts.existing(["frank", "nobody"]),
      accounts.existing(["nobody"]),
    ]);
    expect(answers.map((found) => [...found])).toEqual([["erin"], ["frank"], []]);
    expect(counting.queries()).toBe(1);
  });

  it("keeps at most maxEntries accounts in memory, dropping the oldest", async () => {
    await createAccount(sql, "gina");
    await createAccount(sql, "hank");
    const counting = countingSql(sql);
    const accounts = createLocalAccounts(counting.sql, { ttlMs: 60_000, maxEntries: 1 });
    await accounts.existing(["gina"]);
    await accounts.existing(["hank"]);
    await accounts.existing(["hank"]);
    expect(counting.queries()).toBe(2);
    await accounts.existing(["gina"]);
    expect(counting.queries()).toBe(3);
  });
});
