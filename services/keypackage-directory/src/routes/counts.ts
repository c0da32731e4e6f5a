import { principalOf } from "@mimi/auth";
import { clientIdsOf } from "@mimi/identity/reads";
import type { RequestHandler } from "express";
import type { KeyPackageDirectoryContext } from "../context.js";
import { countsByClient } from "../domain/counts.js";
import { servableSummaries } from "../keypackage-rows.js";

/**
 * `GET /api/v1/keypackages` -> `{ clients: [{ clientId, available, hasLastResort, ciphersuites }] }`
 * for the token's user, so each client can top up when it runs low.
 */
export function ownKeyPackageCounts(ctx: KeyPackageDirectoryContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const [clientIds, rows] = await Promise.all([
      clientIdsOf(ctx.sql, username),
      servableSummaries(ctx.sql, username, ctx.now()),
    ]);
    res.json({
      clients: countsByClient(clientIds, rows).map(({ keyPackageIds: _ids, ...counts }) => counts),
    });
  };
}
