import { createHash } from "node:crypto";
import pg from "pg";
import type { QueryOptions, QueryResult, Sql, SqlExecutor, SqlParam } from "./types.js";

const INT8_OID = 20;

/** Per-query type parsers, so int8 is a number here as on PGlite without touching pg's globals. */
const typeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? "text");
  },
};

interface Queryable {
  query(config: pg.QueryConfig): Promise<pg.QueryResult>;
}

const statementNames = new Map<string, string>();

/** A prepared statement's name, the same for the same text in every process (pg keys them by name). */
export function preparedStatementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `mimi_${createHash("sha256").update(text).digest("base64url").slice(0, 22)}`;
    statementNames.set(text, name);
  }
  return name;
}

function wrap(client: Queryable): SqlExecutor {
  return {
    async query<Row>(
      text: string,
      params: readonly SqlParam[] = [],
      options?: QueryOptions,
    ): Promise<QueryResult<Row>> {
      const result = await client.query({
        text,
        values: [...params],
        types: typeParsers,
        ...(options?.prepare ? { name: preparedStatementName(text) } : {}),
      });
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(text: string): Promise<void> {
      await client.query({ text });
    },
  };
}

/**
 * Connections per process when not configured. Enough for batched hot paths and a few slow statements
 * at once; PostgreSQL's default `max_connections` (100) still fits several processes per database.
 */
export const DEFAULT_POOL_MAX = 20;

export interface PgOptions {
  connectionString: string;
  /** Pool size per process (`DEFAULT_POOL_MAX` when unset). */
  maxConnections?: number;
  /** Server-side statement timeout, so a stuck query cannot hold a connection forever. */
  statementTimeoutMs?: number;
  applicationName?: string;
  /**
   * Told when an idle pooled connection breaks (the server restarted, a proxy cut it): the pool has
   * already dropped it and opens a new one when needed, so this is for logging. Calls waiting for a
   * connection, or using one, get their own error.
   */
  onConnectionError?: (error: Error) => void;
}

export function createPgSql(options: PgOptions): Sql {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? DEFAULT_POOL_MAX,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    idle_in_transaction_session_timeout: 60_000,
    connectionTimeoutMillis: 5_000,
    application_name: options.applicationName ?? "mimi",
  });
  // An idle client losing its connection must not crash the process (an 'error' event without a
  // listener throws); the pool has removed it and opens another when needed.
  pool.on("error", (error) => options.onConnectionError?.(error));
  const executor = wrap(pool);
  return {
    backend: "pg",
    ...executor,
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A checked-out client has no listener of the pool's: a connection that breaks between two
      // queries of `work`, or after the query it failed, would emit an 'error' nobody handles and end
      // the process. Noted here instead; the next query on it (or COMMIT) rejects.
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken ??= error;
      };
      client.on("error", onError);
      let rollbackFailed: unknown;
      try {
        await client.query("BEGIN");
        const result = await work(wrap(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        if (broken === undefined) {
          await client.query("ROLLBACK").catch((rollbackError: unknown) => {
            rollbackFailed = rollbackError;
          });
        }
        throw error;
      } finally {
        client.off("error", onError);
        // A broken client, or one whose transaction may still be open, is closed instead of reused;
        // closing it ends the transaction on the server.
        const discard = broken ?? (rollbackFailed === undefined ? undefined : asError(rollbackFailed));
        client.release(discard);
      }
    },
    async ping() {
      await pool.query("select 1");
    },
    close: () => pool.end(),
  };
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
