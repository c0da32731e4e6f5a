import type { SqlExecutor } from "@mimi/store";

/**
 * Which of `usernames` had items refused for their mailbox quota and have not had room freed since:
 * inbox-ingest refuses deliveries for them (`mailboxFull`) so the sending server learns it.
 */
export async function mailboxesRefusing(
  sql: SqlExecutor,
  usernames: readonly string[],
): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  try {
    const result = await sql.query<{ username: string }>(
      "select username from delivery.mailbox_usage where username = any($1::text[]) and refused_at is not null",
      [[...new Set(usernames)]],
    );
    return new Set(result.rows.map((row) => row.username));
  } catch (error) {
    // Before delivery-fanout's migrations ran (a fresh deployment, a database of inbox-ingest alone)
    // no mailbox was ever refused: the writer still enforces the quota.
    if (isUndefinedTable(error)) return new Set();
    throw error;
  }
}

/** PostgreSQL's `undefined_table` (42P01). */
function isUndefinedTable(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === "42P01";
}
