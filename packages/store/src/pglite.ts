import { mkdirSync } from "node:fs";
import { PGlite, types } from "@electric-sql/pglite";
import type { QueryResult, Sql, SqlExecutor, SqlParam } from "./types.js";

interface PgliteLike {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(text: string): Promise<unknown>;
}

function wrap(db: PgliteLike): SqlExecutor {
  return {
    async query<Row>(text: string, params: readonly SqlParam[] = []): Promise<QueryResult<Row>> {
      const result = await db.query<Row>(text, [...params]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(text: string): Promise<void> {
      await db.exec(text);
    },
  };
}

/**
 * PGlite: real PostgreSQL compiled to WASM, in this process. `dataDir` persists the database
 * to a folder; without it the database lives in memory (tests).
 */
export async function createPgliteSql(options: { dataDir?: string } = {}): Promise<Sql> {
  // PGlite creates only the last folder of the path; a fresh data directory has none of them.
  if (options.dataDir) {
    try {
      mkdirSync(options.dataDir, { recursive: true });
    } catch (error) {
      throw new Error(
        `cannot create the database folder ${options.dataDir}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    parsers: { [types.INT8]: (value: string) => Number(value) },
  });
  const executor = wrap(db);
  return {
    backend: "pglite",
    ...executor,
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    async ping() {
      await db.query("select 1");
    },
    close: () => db.close(),
  };
}
