import { afterEach, describe, expect, it } from "vitest";
import { createPgSql, type Sql } from "../src/index.js";

const databaseUrl = process.env.DATABASE_URL;

/**
 * Connections that PostgreSQL ends under a running process (a restart, an operator's
 * `pg_terminate_backend`): the call using it rejects, the process keeps running (an 'error' event
 * without a listener would end it, failing this run), and the pool serves the next call.
 */
describe.skipIf(!databaseUrl)("PostgreSQL connection loss", () => {
  const opened: Sql[] = [];
  const open = (options: Partial<Parameters<typeof createPgSql>[0]> = {}) => {
    const sql = createPgSql({ connectionString: databaseUrl ?? "", ...options });
    opened.push(sql);
    return sql;
  };
  afterEach(async () => {
    for (const sql of opened.splice(0)) await sql.close();
  });

  /** Ends another session from a connection of its own, and waits until PostgreSQL no longer lists it. */
  async function terminate(admin: Sql, pid: number): Promise<void> {
    const ended = await admin.query<{ ended: boolean }>("select pg_terminate_backend($1) as ended", [pid]);
    expect(ended.rows[0]?.ended).toBe(true);
    for (let attempt = 0; attempt < 200; attempt++) {
      const alive = await admin.query("select 1 from pg_stat_activity where pid = $1", [pid]);
      if (alive.rows.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`backend ${pid} still listed after pg_terminate_backend`);
  }

  const backendPid = async (sql: Pick<Sql, "query">) =>
    (await sql.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]?.pid ?? -1;

  it("rejects a transaction whose connection is ended between two of its queries", async () => {
    // One connection: the call after the loss can only succeed on a new one.
    const sql = open({ maxConnections: 1 });
    const admin = open();
    const transaction = sql.transaction(async (tx) => {
      await terminate(admin, await backendPid(tx));
      // Let the client read the server's goodbye and the socket's end while no query runs.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.query("select 1");
    });
    await expect(transaction).rejects.toThrow();
    expect((await sql.query<{ one: number }>("select 1 as one")).rows).toEqual([{ one: 1 }]);
  });

  it("rejects a transaction whose connection is ended while its query runs", async () => {
    const sql = open({ maxConnections: 1 });
    const admin = open();
    let pid = -1;
    const transaction = sql.transaction(async (tx) => {
      pid = await backendPid(tx);
      await tx.query("select pg_sleep(30)");
    });
    transaction.catch(() => undefined);
    for (let attempt = 0; attempt < 200; attempt++) {
      const sleeping = await admin.query(
        "select 1 from pg_stat_activity where pid = $1 and state = 'active' and query like '%pg_sleep%'",
        [pid],
      );
      if (sleeping.rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await terminate(admin, pid);
    await expect(transaction).rejects.toThrow(/terminat/);
    // The socket's end arrives after the query's error: the process must survive it too.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const next = await backendPid(sql);
    expect(next).not.toBe(pid);
    expect(next).toBeGreaterThan(0);
  });

  it("reports an idle pooled connection that was ended and replaces it", async () => {
    const lost: Error[] = [];
    const sql = open({ maxConnections: 1, onConnectionError: (error) => lost.push(error) });
    const admin = open();
    const pid = await backendPid(sql);
    await terminate(admin, pid);
    for (let attempt = 0; attempt < 200 && lost.length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(lost.length).toBeGreaterThan(0);
    const next = await backendPid(sql);
    expect(next).not.toBe(pid);
    expect(next).toBeGreaterThan(0);
  });
});
