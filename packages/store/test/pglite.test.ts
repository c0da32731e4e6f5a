import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPgliteSql, migrate, runSqlContractSuite } from "../src/index.js";

runSqlContractSuite("PGlite (memory)", () => createPgliteSql());

describe("PGlite persisted to a data folder", () => {
  it("keeps migrated schemas and rows across reopen", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mimi-store-"));
    try {
      const first = await createPgliteSql({ dataDir });
      await migrate(first, {
        schema: "demo",
        migrations: [{ version: 1, name: "t", sql: "create table demo.t (v text)" }],
      });
      await first.query("insert into demo.t values ($1)", ["persisted"]);
      await first.close();

      const second = await createPgliteSql({ dataDir });
      const report = await migrate(second, {
        schema: "demo",
        migrations: [{ version: 1, name: "t", sql: "create table demo.t (v text)" }],
      });
      expect(report.applied).toEqual([]);
      const rows = await second.query<{ v: string }>("select v from demo.t");
      expect(rows.rows).toEqual([{ v: "persisted" }]);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("creates a data folder whose parents do not exist yet (a fresh MIMI_DATA_DIR)", async () => {
    const root = mkdtempSync(join(tmpdir(), "mimi-store-"));
    try {
      const sql = await createPgliteSql({ dataDir: join(root, "data", "pglite") });
      expect((await sql.query<{ one: number }>("select 1 as one")).rows).toEqual([{ one: 1 }]);
      await sql.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("names the folder when it cannot be created", async () => {
    const root = mkdtempSync(join(tmpdir(), "mimi-store-"));
    try {
      writeFileSync(join(root, "file"), "");
      await expect(createPgliteSql({ dataDir: join(root, "file", "pglite") })).rejects.toThrow(
        /cannot create the database folder .*file\/pglite/,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
