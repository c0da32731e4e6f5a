import type { SqlExecutor } from "@mimi/store";

/** Which of `usernames` have an account on this provider (`identity.accounts`, owned by identity). */
export async function existingUsernames(
  sql: SqlExecutor,
  usernames: readonly string[],
): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  const result = await sql.query<{ username: string }>(
    "select username from identity.accounts where username = any($1::text[])",
    [usernames],
  );
  return new Set(result.rows.map((row) => row.username));
}
