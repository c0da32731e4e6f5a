import { principalOf } from "@mimi/auth";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import type { IdentityContext } from "../context.js";
import { parseBlockableDomain } from "../domain/blocked-domains.js";

/** At most this many admin-added blocks: the table is read whole by every service. */
const MAX_ADMIN_BLOCKS = 10_000;

/**
 * Admin API authorization: the token's user must be listed in MIMI_ADMIN_USERS. Admins use their
 * ordinary sessions, so logging out, expiry and revocation apply to admin power as well.
 */
export function requireAdmin(ctx: Pick<IdentityContext, "adminUsers">): RequestHandler {
  return (_req, res, next) => {
    const { username } = principalOf(res);
    if (!ctx.adminUsers.has(username)) {
      throw problems.forbidden("this account may not use the admin API", { reason: "notAdmin" });
    }
    next();
  };
}

interface BlockedDomainRow {
  domain: string;
  source: "config" | "admin";
  created_by: string | null;
  created_at: Date;
}

function domainParam(raw: unknown): string {
  const parsed = parseBlockableDomain(String(raw ?? ""));
  if (!parsed.ok) throw problems.badRequest(parsed.detail, { reason: "invalidDomain" });
  return parsed.domain;
}

/** `GET /api/v1/admin/blocked-domains`: every blocked domain, by name. */
export function listBlockedDomains(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const rows = await ctx.sql.query<BlockedDomainRow>(
      "select domain, source, created_by, created_at from identity.blocked_domains order by domain",
    );
    res.json({
      domains: rows.rows.map((row) => ({
        domain: row.domain,
        source: row.source,
        ...(row.created_by ? { createdBy: row.created_by } : {}),
        createdAt: new Date(row.created_at).toISOString(),
      })),
    });
  };
}

/**
 * `PUT /api/v1/admin/blocked-domains/:domain`: blocks the domain and its subdomains. 201 when new,
 * 200 when it was blocked already; 400 `invalidDomain`, 400 `ownDomain` (this provider's own domain
 * would cut its users off from each other's servers' documents).
 */
export function addBlockedDomain(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const domain = domainParam(req.params.domain);
    const own = ctx.urls.domain.toLowerCase();
    if (own === domain || own.endsWith(`.${domain}`)) {
      throw problems.badRequest(`${domain} is this provider's own domain`, { reason: "ownDomain" });
    }
    const { username } = principalOf(res);
    const inserted = await ctx.sql.query(
      `insert into identity.blocked_domains (domain, source, created_by)
       select $1, 'admin', $2
        where (select count(*) from identity.blocked_domains where source = 'admin') < $3
       on conflict (domain) do nothing`,
      [domain, username, MAX_ADMIN_BLOCKS],
    );
    if ((inserted.rowCount ?? 0) === 0) {
      const exists = await ctx.sql.query("select 1 from identity.blocked_domains where domain = $1", [
        domain,
      ]);
      if (exists.rows.length === 0) {
        throw problems.conflict(`at most ${MAX_ADMIN_BLOCKS} domains may be blocked through the API`, {
          reason: "tooManyBlocks",
        });
      }
      res.status(200).json({ domain, blocked: true });
      return;
    }
    ctx.logger.info({ domain, admin: username }, "domain blocked");
    res.status(201).json({ domain, blocked: true });
  };
}

/**
 * `DELETE /api/v1/admin/blocked-domains/:domain`: lifts an admin's block. 204; 404 `notBlocked`;
 * 409 `configuredBlock` for a domain of MIMI_BLOCKED_DOMAINS, which the next start would block again.
 */
export function removeBlockedDomain(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const domain = domainParam(req.params.domain);
    const found = await ctx.sql.query<{ source: string }>(
      "select source from identity.blocked_domains where domain = $1",
      [domain],
    );
    const source = found.rows[0]?.source;
    if (source === undefined) throw problems.notFound(`${domain} is not blocked`, { reason: "notBlocked" });
    if (source === "config") {
      throw problems.conflict(`${domain} is blocked by MIMI_BLOCKED_DOMAINS; remove it there`, {
        reason: "configuredBlock",
      });
    }
    await ctx.sql.query("delete from identity.blocked_domains where domain = $1 and source = 'admin'", [
      domain,
    ]);
    ctx.logger.info({ domain, admin: principalOf(res).username }, "domain block lifted");
    res.status(204).end();
  };
}
