import type { Sql } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalAccounts } from "../src/ingest/accounts.js";
import { coalesce } from "../src/ingest/coalesce.js";
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

describe("coalesce", () => {
  it("runs the calls of one turn as one batch and hands each caller its own result", async () => {
    const batches: number[][] = [];
    const double = coalesce<number, number>(async (inputs) => {
      batches.push([...inputs]);
      return inputs.map((n) => n * 2);
    });
    expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
    expect(await double(4)).toBe(8);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("collects the calls made while a batch runs into the next one, within maxBatch", async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const echo = coalesce<number, number>(
      async (inputs) => {
        batches.push([...inputs]);
        if (batches.length === 1) await held;
        return inputs;
      },
      { maxBatch: 2 },
    );
    const first = echo(0);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [echo(1), echo(2), echo(3)];
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3]);
    expect(batches).toEqual([[0], [1, 2], [3]]);
  });

  it("rejects every call of a failed batch and still runs the next", async () => {
    let failNext = true;
    const flaky = coalesce<string, string>(async (inputs) => {
      if (failNext) {
        failNext = false;
        throw new Error("database unavailable");
      }
      return inputs;
    });
    const failed = [flaky("a"), flaky("b")];
    for (const call of failed) await expect(call).rejects.toThrow("database unavailable");
    expect(await flaky("c")).toBe("c");
  });

  it("rejects the batch when results do not match the calls one to one", async () => {
    const broken = coalesce<string, string>(async () => []);
    await expect(broken("a")).rejects.toThrow(/1 calls produced 0 results/);
  });
});
