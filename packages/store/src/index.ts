export { runSqlContractSuite } from "./contract.js";
export { type Migration, type MigrationReport, type MigrationSet, migrate, migrateAll } from "./migrate.js";
export { createPgSql, DEFAULT_POOL_MAX, type PgOptions, preparedStatementName } from "./pg.js";
export { createPgliteSql } from "./pglite.js";
export {
  type QueryOptions,
  type QueryResult,
  SQL_UNIQUE_VIOLATION,
  type Sql,
  type SqlExecutor,
  type SqlParam,
  sqlErrorCode,
} from "./types.js";

import { createPgSql } from "./pg.js";
import { createPgliteSql } from "./pglite.js";
import type { Sql } from "./types.js";

/**
 * `postgres://...` selects PostgreSQL (a pool of `maxConnections`, default `DEFAULT_POOL_MAX`);
 * otherwise an embedded PGlite database in `dataDir` (or memory).
 */
export async function openSql(options: {
  databaseUrl?: string;
  dataDir?: string;
  applicationName?: string;
  maxConnections?: number;
  /** PostgreSQL only: told when an idle pooled connection breaks (see `PgOptions.onConnectionError`). */
  onConnectionError?: (error: Error) => void;
}): Promise<Sql> {
  if (options.databaseUrl) {
    return createPgSql({
      connectionString: options.databaseUrl,
      ...(options.applicationName ? { applicationName: options.applicationName } : {}),
      ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
      ...(options.onConnectionError ? { onConnectionError: options.onConnectionError } : {}),
    });
  }
  return createPgliteSql(options.dataDir ? { dataDir: options.dataDir } : {});
}
