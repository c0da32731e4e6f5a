import { randomBytes } from "node:crypto";
import { generateToken, hashToken } from "@mimi/auth";
import { createPgliteSql, createPgSql, type MigrationSet, migrateAll, type Sql } from "@mimi/store";

/** An in-memory PGlite database with `migrations` applied, in order (identity's before those that read it). */
export async function createTestDatabase(migrations: readonly MigrationSet[]): Promise<Sql> {
  const sql = await createPgliteSql();
  await migrateAll(sql, [...migrations]);
  return sql;
}

/**
 * Writes an account and a fresh bearer token for it straight into identity's tables, as identity's
 * sign-up would (no password: nothing in a service test logs in). Returns the token. An account that
 * exists gets another token.
 */
export async function insertAccount(sql: Sql, username: string): Promise<string> {
  const token = generateToken();
  await sql.query(
    "insert into identity.accounts (username, password_hash) values ($1, 'unused') on conflict do nothing",
    [username],
  );
  await sql.query("insert into identity.tokens (token_hash, username) values ($1, $2)", [
    hashToken(token),
    username,
  ]);
  return token;
}

/** A database a contract test runs against, and how to get rid of it. */
export interface TestBackend {
  sql: Sql;
  dispose(): Promise<void>;
}

/** An in-memory PGlite database, empty. */
export async function openPglite(): Promise<TestBackend> {
  const sql = await createPgliteSql();
  return { sql, dispose: () => sql.close() };
}

/**
 * A database of its own (`<prefix>_<random>`) on the PostgreSQL server at `url`, dropped afterwards, so
 * a test may read whole tables while other suites use the same server.
 */
export async function openPostgres(url: string, prefix: string): Promise<TestBackend> {
  const admin = createPgSql({ connectionString: url });
  const database = `${prefix}_${randomBytes(6).toString("hex")}`;
  await admin.exec(`create database ${database}`);
  const own = new URL(url);
  own.pathname = `/${database}`;
  const sql = createPgSql({ connectionString: own.toString() });
  return {
    sql,
    async dispose() {
      await sql.close();
      await admin.exec(`drop database ${database}`);
      await admin.close();
    },
  };
}
