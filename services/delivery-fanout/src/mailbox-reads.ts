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
  const result = await sql.query<{ username: string }>(
    "select username from delivery.mailbox_usage where username = any($1::text[]) and refused_at is not null",
    [[...new Set(usernames)]],
  );
  return new Set(result.rows.map((row) => row.username));
}
