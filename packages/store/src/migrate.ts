import { createHash } from "node:crypto";
import type { Sql } from "./types.js";

/**
 * A versioned migration. SQL names its tables with the owning service's schema
 * (`identity.accounts`), so services can share one database without colliding.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrationSet {
  /** The service's schema, e.g. `identity`. */
  schema: string;
  migrations: readonly Migration[];
}

export interface MigrationReport {
  schema: string;
  applied: number[];
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checksum(migration: Migration): string {
  return createHash("sha256").update(migration.sql).digest("hex");
}

/**
 * Applies the pending migrations of one schema, each in its own transaction, under an
 * advisory lock so that concurrent `migrate` runs (several replicas starting) apply each once.
 * A migration whose SQL changed after it was applied is refused: migrations are append-only.
 */
export async function migrate(sql: Sql, set: MigrationSet): Promise<MigrationReport> {
  if (!SCHEMA_NAME.test(set.schema)) throw new Error(`invalid schema name ${JSON.stringify(set.schema)}`);
  const versions = set.migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length)
    throw new Error(`duplicate migration version in ${set.schema}`);
  const ordered = [...set.migrations].sort((a, b) => a.version - b.version);
  const schema = set.schema;
  const applied: number[] = [];

  await sql.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`mimi-migrate:${schema}`]);
    await tx.exec(`create schema if not exists ${schema};
      create table if not exists ${schema}.schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      );`);
    const done = await tx.query<{ version: number; checksum: string }>(
      `select version, checksum from ${schema}.schema_migrations`,
    );
    const doneByVersion = new Map(done.rows.map((row) => [row.version, row.checksum]));
    for (const migration of ordered) {
      const previous = doneByVersion.get(migration.version);
      if (previous !== undefined) {
        if (previous !== checksum(migration)) {
          throw new Error(
            `migration ${schema}/${migration.version} (${migration.name}) was changed after it was applied`,
          );
        }
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query(
        `insert into ${schema}.schema_migrations (version, name, checksum) values ($1, $2, $3)`,
        [migration.version, migration.name, checksum(migration)],
      );
      applied.push(migration.version);
    }
  });
  return { schema, applied };
}

export async function migrateAll(sql: Sql, sets: readonly MigrationSet[]): Promise<MigrationReport[]> {
  const reports: MigrationReport[] = [];
  for (const set of sets) reports.push(await migrate(sql, set));
  return reports;
}
