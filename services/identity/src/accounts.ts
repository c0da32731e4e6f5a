import { problems } from "@mimi/service-kit";
import type { SqlExecutor } from "@mimi/store";

/** Data access for accounts, tokens and clients in the `identity` schema. */
export interface AccountRow {
  username: string;
  password_hash: string;
  created_at: Date;
}

export interface ClientRow {
  id: string;
  username: string;
  name: string;
  created_at: Date;
}

/** A live account: a deleted one is gone for every purpose but its quarantine (`findDeletedAccount`). */
export async function findAccount(sql: SqlExecutor, username: string): Promise<AccountRow | undefined> {
  const result = await sql.query<AccountRow>(
    "select username, password_hash, created_at from identity.accounts where username = $1 and deleted_at is null",
    [username],
  );
  return result.rows[0];
}

/** When the account of this name was deleted, if it was and is not purged yet. */
export async function findDeletedAccount(sql: SqlExecutor, username: string): Promise<Date | undefined> {
  const result = await sql.query<{ deleted_at: Date }>(
    "select deleted_at from identity.accounts where username = $1 and deleted_at is not null",
    [username],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : new Date(row.deleted_at);
}

export async function countAccounts(sql: SqlExecutor): Promise<number> {
  const result = await sql.query<{ n: number }>("select count(*) as n from identity.accounts");
  return result.rows[0]?.n ?? 0;
}

export async function listClients(sql: SqlExecutor, username: string): Promise<ClientRow[]> {
  const result = await sql.query<ClientRow>(
    "select id, username, name, created_at from identity.clients where username = $1 order by created_at, id",
    [username],
  );
  return result.rows;
}

export async function insertToken(
  sql: SqlExecutor,
  username: string,
  tokenHash: string,
  label: string,
): Promise<void> {
  await sql.query("insert into identity.tokens (token_hash, username, label) values ($1, $2, $3)", [
    tokenHash,
    username,
    label,
  ]);
}

/** The user's own client, or 404: a token never reaches another user's devices. */
export async function findClient(sql: SqlExecutor, username: string, clientId: string): Promise<ClientRow> {
  const result = await sql.query<ClientRow>(
    "select id, username, name, created_at from identity.clients where id = $1 and username = $2",
    [clientId, username],
  );
  const client = result.rows[0];
  if (!client) throw problems.notFound(`no client ${clientId} for this account`);
  return client;
}
