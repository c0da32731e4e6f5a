import { describe, expect, it } from "vitest";
import { createPgSql, preparedStatementName, runSqlContractSuite } from "../src/index.js";

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)("PostgreSQL backend", () => {
  runSqlContractSuite("PostgreSQL (pg)", async () => createPgSql({ connectionString: databaseUrl ?? "" }));
});

describe("preparedStatementName", () => {
  it("names a statement text the same way every time, and different texts differently", () => {
    const name = preparedStatementName("select 1");
    expect(name).toBe(preparedStatementName("select 1"));
    expect(name).toMatch(/^mimi_[A-Za-z0-9_-]{22}$/);
    expect(preparedStatementName("select 2")).not.toBe(name);
  });
});
