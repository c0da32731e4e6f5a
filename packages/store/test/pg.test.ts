import { describe } from "vitest";
import { createPgSql, runSqlContractSuite } from "../src/index.js";

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)("PostgreSQL backend", () => {
  runSqlContractSuite("PostgreSQL (pg)", async () => createPgSql({ connectionString: databaseUrl ?? "" }));
});
