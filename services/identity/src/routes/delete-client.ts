import { principalOf } from "@mimi/auth";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { findClient } from "../accounts.js";
import type { IdentityContext } from "../context.js";

/**
 * The header a client names itself with when it deletes a device. A token belongs to a user, not to
 * one of their devices, so this is how the server learns that a request would delete the very device
 * that sends it.
 */
export const CALLING_CLIENT_HEADER = "mimi-client-id";

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `DELETE /api/v1/clients/:clientId[?self=true]` (bearer) -> 200 `{ deleted: true, id }`: removes one
 * of the user's own devices at its home server. Its credential challenges and issued credentials go
 * with it (the schema cascades), and from then on no claim hands out its KeyPackages (a claim serves
 * only current clients); the keypackage directory deletes those rows. Another user's client is 404,
 * as an unknown one is, so ids of others are not revealed. A request whose `Mimi-Client-Id` names
 * the device it deletes is 409 `currentDevice` unless `self=true` says that is meant: a device that
 * deletes itself can no longer do anything on the account.
 */
export function deleteClient(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const clientId = String(req.params.clientId);
    if (!CLIENT_ID.test(clientId)) throw problems.badRequest("not a client id", { reason: "badClientId" });
    const selfFlag = req.query.self;
    if (selfFlag !== undefined && selfFlag !== "true" && selfFlag !== "false") {
      throw problems.badRequest("self must be true or false", { reason: "badSelfFlag" });
    }
    const client = await findClient(ctx.sql, username, clientId);
    if (req.get(CALLING_CLIENT_HEADER) === client.id && selfFlag !== "true") {
      throw problems.conflict(
        "this is the device that sends the request: add self=true to delete it from itself",
        { reason: "currentDevice" },
      );
    }
    const deleted = await ctx.sql.query(
      "delete from identity.clients where id = $1 and username = $2 returning id",
      [client.id, username],
    );
    // A concurrent delete of the same client answers as if this one had not found it.
    if (deleted.rows.length === 0) throw problems.notFound(`no client ${clientId} for this account`);
    ctx.logger.info({ username, clientId: client.id }, "client deleted");
    res.json({ deleted: true, id: client.id });
  };
}
