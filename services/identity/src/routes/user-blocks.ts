import { principalOf } from "@mimi/auth";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import type { IdentityContext } from "../context.js";
import { parseUserBlockTarget, type UserBlockTarget } from "../domain/user-blocks.js";

function targetParam(raw: unknown): UserBlockTarget {
  const parsed = parseUserBlockTarget(String(raw ?? ""));
  if (!parsed.ok) throw problems.badRequest(parsed.detail, { reason: "invalidTarget" });
  return parsed.block;
}

/** `GET /api/v1/me/blocks` (bearer): the users and domains this user blocked, by name. */
export function listUserBlocks(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const rows = await ctx.sql.query<{ target: string; kind: string; created_at: Date }>(
      "select target, kind, created_at from identity.user_blocks where username = $1 order by target",
      [username],
    );
    res.json({
      blocks: rows.rows.map((row) => ({
        target: row.target,
        kind: row.kind,
        createdAt: new Date(row.created_at).toISOString(),
      })),
    });
  };
}

/**
 * `PUT /api/v1/me/blocks/:target` (bearer): blocks `user@domain` or a domain. 201 new, 200 already
 * blocked; 400 `invalidTarget`, `ownAccount`; 409 `tooManyBlocks` past MIMI_USER_BLOCKS_MAX.
 */
export function addUserBlock(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const block = targetParam(req.params.target);
    if (block.kind === "user" && block.target === `${username}@${ctx.urls.domain}`) {
      throw problems.badRequest("you cannot block yourself", { reason: "ownAccount" });
    }
    const inserted = await ctx.sql.query(
      `insert into identity.user_blocks (username, target, kind)
       select $1, $2, $3
        where (select count(*) from identity.user_blocks where username = $1) < $4
       on conflict (username, target) do nothing`,
      [username, block.target, block.kind, ctx.userBlocksMax],
    );
    if ((inserted.rowCount ?? 0) === 0) {
      const exists = await ctx.sql.query(
        "select 1 from identity.user_blocks where username = $1 and target = $2",
        [username, block.target],
      );
      if (exists.rows.length === 0) {
        throw problems.conflict(`at most ${ctx.userBlocksMax} users and domains may be blocked`, {
          reason: "tooManyBlocks",
        });
      }
      res.status(200).json({ ...block, blocked: true });
      return;
    }
    res.status(201).json({ ...block, blocked: true });
  };
}

/** `DELETE /api/v1/me/blocks/:target` (bearer): lifts a block. 204; 404 `notBlocked`. */
export function removeUserBlock(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const block = targetParam(req.params.target);
    const removed = await ctx.sql.query(
      "delete from identity.user_blocks where username = $1 and target = $2",
      [username, block.target],
    );
    if ((removed.rowCount ?? 0) === 0) {
      throw problems.notFound(`${block.target} is not blocked`, { reason: "notBlocked" });
    }
    res.status(204).end();
  };
}
