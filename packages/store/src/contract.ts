import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";
import { SQL_UNIQUE_VIOLATION, type Sql, sqlErrorCode } from "./types.js";

/** The behaviour every SQL backend must share; run against PGlite always and PostgreSQL when available. */
export function runSqlContractSuite(name: string, open: () => Promise<Sql>): void {
  describe(`Sql contract: ${name}`, () => {
    let sql: Sql;
    let schema: string;

    beforeEach(async () => {
      sql = await open();
      schema = `t_${Math.random().toString(36).slice(2, 10)}`;
    });

    afterEach(async () => {
      await sql.exec(`drop schema if exists ${schema} cascade`);
      await sql.close();
    });

    const set = (extra: { version: number; name: string; sql: string }[] = []) => ({
      schema,
      migrations: [
        {
          version: 1,
          name: "items",
          sql: `create table ${schema}.items (id bigserial primary key, name text unique not null,
                data bytea, doc jsonb, created_at timestamptz not null default now());`,
        },
        ...extra,
      ],
    });

    it("applies migrations once and records them", async () => {
      expect((await migrate(sql, set())).applied).toEqual([1]);
      expect((await migrate(sql, set())).applied).toEqual([]);
      const more = set([
        { version: 2, name: "flag", sql: `alter table ${schema}.items add column flag boolean` },
      ]);
      expect((await migrate(sql, more)).applied).toEqual([2]);
      const rows = await sql.query<{ version: number }>(
        `select version from ${schema}.schema_migrations order by 1`,
      );
      expect(rows.rows.map((r) => r.version)).toEqual([1, 2]);
    });

    it("refuses a migration that changed after it was applied", async () => {
      await migrate(sql, set());
      const changed = { schema, migrations: [{ version: 1, name: "items", sql: "select 1" }] };
      await expect(migrate(sql, changed)).rejects.toThrow(/was changed after it was applied/);
    });

    it("rolls back a failing migration entirely", async () => {
      await migrate(sql, set());
      const broken = set([
        { version: 2, name: "broken", sql: `alter table ${schema}.items add column x int; select nope;` },
      ]);
      await expect(migrate(sql, broken)).rejects.toThrow();
      const cols = await sql.query(
        "select column_name from information_schema.columns where table_schema = $1 and column_name = 'x'",
        [schema],
      );
      expect(cols.rows).toEqual([]);
    });

    it("applies concurrent runs of the same migrations once", async () => {
      const reports = await Promise.all([migrate(sql, set()), migrate(sql, set()), migrate(sql, set())]);
      expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, 1]);
    });

    it("normalises int8, bytea, jsonb and timestamptz", async () => {
      await migrate(sql, set());
      const inserted = await sql.query<{
        id: number;
        data: Uint8Array;
        doc: { a: number[] };
        created_at: Date;
      }>(
        `insert into ${schema}.items (name, data, doc) values ($1, $2, $3::jsonb) returning id, data, doc, created_at`,
        ["a", new Uint8Array([1, 2, 255]), JSON.stringify({ a: [1, 2] })],
      );
      const row = inserted.rows[0]!;
      expect(row.id).toBe(1);
      expect(typeof row.id).toBe("number");
      expect([...row.data]).toEqual([1, 2, 255]);
      expect(row.doc).toEqual({ a: [1, 2] });
      expect(row.created_at).toBeInstanceOf(Date);
      const count = await sql.query<{ n: number }>(`select count(*) as n from ${schema}.items`);
      expect(count.rows[0]!.n).toBe(1);
    });

    it("takes text, number and boolean arrays, and runs prepared statements again and again", async () => {
      const text = `select t.name, t.n, t.flag
        from unnest($1::text[], $2::int[], $3::bool[]) with ordinality as t(name, n, flag, position)
        order by t.position`;
      for (let run = 0; run < 3; run++) {
        const result = await sql.query<{ name: string; n: number; flag: boolean }>(
          text,
          [
            ["a", `b${run}`],
            [1, run],
            [true, false],
          ],
          { prepare: true },
        );
        expect(result.rows).toEqual([
          { name: "a", n: 1, flag: true },
          { name: `b${run}`, n: run, flag: false },
        ]);
      }
      // The same text unprepared, and empty arrays.
      const empty = await sql.query(text, [[], [], []]);
      expect(empty.rows).toEqual([]);
    });

    it("reports unique violations with their SQLSTATE and counts affected rows", async () => {
      await migrate(sql, set());
      await sql.query(`insert into ${schema}.items (name) values ($1)`, ["dup"]);
      const error = await sql
        .query(`insert into ${schema}.items (name) values ($1)`, ["dup"])
        .catch((e: unknown) => e);
      expect(sqlErrorCode(error)).toBe(SQL_UNIQUE_VIOLATION);
      const updated = await sql.query(`update ${schema}.items set name = name where name = $1`, ["dup"]);
      expect(updated.rowCount).toBe(1);
    });

    it("commits and rolls back transactions", async () => {
      await migrate(sql, set());
      await sql.transaction(async (tx) => {
        await tx.query(`insert into ${schema}.items (name) values ('kept')`);
      });
      await expect(
        sql.transaction(async (tx) => {
          await tx.query(`insert into ${schema}.items (name) values ('lost')`);
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      const names = await sql.query<{ name: string }>(`select name from ${schema}.items order by name`);
      expect(names.rows.map((r) => r.name)).toEqual(["kept"]);
    });

    it("answers ping", async () => {
      await expect(sql.ping()).resolves.toBeUndefined();
    });
  });
}
