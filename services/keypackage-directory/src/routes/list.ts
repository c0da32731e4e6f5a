import { ACTIVITY_CONTEXT, ACTIVITY_JSON, isLocalUsername } from "@mimi/activitypub";
import { accountExists, clientIdsOf } from "@mimi/identity/reads";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import type { KeyPackageDirectoryContext } from "../context.js";
import { countsByClient } from "../domain/counts.js";
import { servableSummaries } from "../keypackage-rows.js";

/**
 * `GET /users/:username/keyPackages` (the actor's `keyPackages`): counts and ids per client, never
 * the KeyPackages themselves (those are only handed out by the claim endpoint, once each).
 */
export function listKeyPackages(ctx: KeyPackageDirectoryContext): RequestHandler {
  return async (req, res) => {
    const username = String(req.params.username);
    if (!isLocalUsername(username) || !(await accountExists(ctx.sql, username))) {
      throw problems.notFound(`no user ${username}`);
    }
    const [clientIds, rows] = await Promise.all([
      clientIdsOf(ctx.sql, username),
      servableSummaries(ctx.sql, username, ctx.now()),
    ]);
    const clients = countsByClient(clientIds, rows);
    res.type(ACTIVITY_JSON).send(
      JSON.stringify({
        "@context": ACTIVITY_CONTEXT,
        id: ctx.urls.keyPackages(username),
        type: "Collection",
        attributedTo: ctx.urls.actor(username),
        totalItems: clients.reduce((sum, client) => sum + client.available, 0),
        "mimi:keyPackageClaim": ctx.urls.keyPackageClaim(username),
        "mimi:clients": clients.map((client) => ({
          "mimi:client": client.clientId,
          "mimi:available": client.available,
          "mimi:lastResort": client.hasLastResort,
          "mimi:keyPackageIds": client.keyPackageIds,
        })),
      }),
    );
  };
}
