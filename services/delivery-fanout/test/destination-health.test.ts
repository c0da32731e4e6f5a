import type { Sql, SqlExecutor, SqlParam } from "@mimi/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDestinationHealth, markDomainAvailable } from "../src/service.js";
import { createTestDatabase } from "./harness.js";

let sql: Sql;
beforeAll(async () => {
  sql = await createTestDatabase();
});
afterAll(async () => {
  await sql.close();
});

/** The same database, counting the statements sent to it. */
function counting(inner: Sql): { sql: Sql; statements: () => number } {
  let count = 0;
  const countingExecutor = (executor: SqlExecutor): SqlExecutor => ({
    query<Row>(text: string, params?: readonly SqlParam[]) {
      count++;
      return executor.query<Row>(text, params);
    },
    exec: (text) => executor.exec(text),
  });
  const wrapped: Sql = {
    backend: inner.backend,
    ...countingExecutor(inner),
    transaction: (work) => inner.transaction((tx) => work(countingExecutor(tx))),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return { sql: wrapped, statements: () => count };
}

describe("destination health kept in memory", () => {
  it("answers a healthy destination from memory and writes nothing on success", async () => {
    const { sql: db, statements } = counting(sql);
    const health = createDestinationHealth(db, { unavailableAfterDays: 7 });
    const origin = "http://healthy.test";
    const first = await health.load(origin);
    expect(statements()).toBe(1);
    for (let i = 0; i < 5; i++) {
      const state = await health.load(origin);
      await health.recordSuccess(origin, state);
    }
    expect(first.failureDays).toEqual([]);
    expect(statements()).toBe(1);
  });

  it("asks the database again once the trust window has passed", async () => {
    let nowMs = 1_000;
    const { sql: db, statements } = counting(sql);
    const health = createDestinationHealth(db, {
      unavailableAfterDays: 7,
      trustAvailableForMs: 100,
      now: () => nowMs,
    });
    await health.load("http://window.test");
    await health.load("http://window.test");
    expect(statements()).toBe(1);
    nowMs += 100;
    await health.load("http://window.test");
    expect(statements()).toBe(2);
  });

  it("re-reads a failing destination, so a clear by another process counts at once", async () => {
    const health = createDestinationHealth(sql, { unavailableAfterDays: 2 });
    const origin = "http://flaky.test";
    await health.recordFailure(origin, Date.parse("2025-03-01T00:00:00Z"));
    const marked = await health.recordFailure(origin, Date.parse("2025-03-02T00:00:00Z"));
    expect(marked.unavailableSinceMs).toBeDefined();
    expect((await health.load(origin)).unavailableSinceMs).toBeDefined();
    await markDomainAvailable(sql, origin);
    expect(await health.load(origin)).toEqual({ failureDays: [], unavailableSinceMs: undefined });
  });

  it("clears the row on the first success after failures", async () => {
    const health = createDestinationHealth(sql, { unavailableAfterDays: 7 });
    const origin = "http://recovered.test";
    await health.recordFailure(origin, Date.parse("2025-03-01T00:00:00Z"));
    await health.recordSuccess(origin, await health.load(origin));
    const rows = await sql.query("select 1 from delivery.destinations where origin = $1", [origin]);
    expect(rows.rows).toHaveLength(0);
    expect((await health.load(origin)).failureDays).toEqual([]);
  });
});
