import type { SqlExecutor } from "@mimi/store";

/**
 * At start: the `config` rows become exactly MIMI_BLOCKED_DOMAINS. A domain an admin had blocked
 * and the operator now configures turns into a configured block.
 */
export async function applyConfiguredBlocks(ctx: {
  sql: SqlExecutor;
  configuredBlockedDomains: Iterable<string>;
}): Promise<void> {
  const domains = [...ctx.configuredBlockedDomains];
  await ctx.sql.query(
    "delete from identity.blocked_domains where source = 'config' and not (domain = any($1::text[]))",
    [domains],
  );
  await ctx.sql.query(
    `insert into identity.blocked_domains (domain, source)
     select unnest($1::text[]), 'config'
     on conflict (domain) do update set source = 'config', created_by = null`,
    [domains],
  );
}
