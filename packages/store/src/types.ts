/**
 * One SQL interface over two backends: PostgreSQL through `pg` (production) and PGlite
 * (embedded, for standalone mode and unit tests). Both run the same SQL and migrations.
 *
 * Normalised results: int8 (bigint/bigserial) columns come back as JS numbers on both backends
 * (our counters and sequence numbers stay far below 2^53); timestamptz as Date; bytea as Uint8Array.
 */
export type SqlParam =
  | string
  | number
  | boolean
  | null
  | Date
  | Uint8Array
  | readonly string[]
  | readonly number[]
  | readonly boolean[];

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * The statement runs often: on PostgreSQL it becomes a named prepared statement, parsed (and, once
   * PostgreSQL settles on a generic plan, planned) once per connection instead of on every call.
   * Only for fixed statement texts (the text is the statement's identity). PGlite ignores it.
   */
  prepare?: boolean;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly SqlParam[],
    options?: QueryOptions,
  ): Promise<QueryResult<Row>>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface Sql extends SqlExecutor {
  readonly backend: "pg" | "pglite";
  /** Runs `work` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Throws when the database cannot answer (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown for errors the caller may want to tell apart (unique violations, serialization failures). */
export function sqlErrorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return undefined;
}

export const SQL_UNIQUE_VIOLATION = "23505";
