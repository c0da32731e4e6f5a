import { principalOf } from "@mimi/auth";
import { problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import type { IdentityContext } from "../context.js";
import { parseUserBlockTarget } from "../domain/user-blocks.js";
import { blocksActor, MAX_CONTACTS_PER_USER } from "../reads.js";

const consentBody = z.object({ required: z.boolean() });
const inviteBody = z.object({ requester: z.string().min(3).max(300) });

/** `GET /api/v1/me/consent` (bearer): `{ required }`, whether strangers' claims need this user's consent. */
export function getConsent(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const row = await ctx.sql.query<{ required: boolean }>(
      "select required from identity.consent_policy where username = $1",
      [username],
    );
    res.json({ required: row.rows[0]?.required === true });
  };
}

/** `PUT /api/v1/me/consent {required}` (bearer): turns consent for adds by strangers on or off. */
export function setConsent(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const { required } = validate(consentBody, req.body);
    await ctx.sql.query(
      `insert into identity.consent_policy (username, required) values ($1, $2)
       on conflict (username) do update set required = excluded.required`,
      [username, required],
    );
    res.json({ required });
  };
}

/** An actor URL as people read it: `user@host` when the URL ends in the user's name, else the URL. */
function handleOf(actor: string): string {
  try {
    const url = new URL(actor);
    const last = url.pathname
      .split("/")
      .filter((segment) => segment.length > 0)
      .at(-1);
    return last ? `${decodeURIComponent(last).replace(/^@/, "")}@${url.host}` : actor;
  } catch {
    return actor;
  }
}

/** `GET /api/v1/me/invites` (bearer): who asked to add this user, newest first. */
export function listInvites(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const rows = await ctx.sql.query<{ requester: string; requested_at: Date }>(
      "select requester, requested_at from identity.invites where username = $1 order by requested_at desc",
      [username],
    );
    res.json({
      invites: rows.rows.map((row) => ({
        requester: row.requester,
        handle: handleOf(row.requester),
        requestedAt: new Date(row.requested_at).toISOString(),
      })),
    });
  };
}

/** The user's invites whose requester `user@domain` (or an actor URL) names. */
async function matchingInvites(ctx: IdentityContext, username: string, requester: string): Promise<string[]> {
  const rows = await ctx.sql.query<{ requester: string }>(
    "select requester from identity.invites where username = $1",
    [username],
  );
  if (requester.includes("://")) return rows.rows.map((row) => row.requester).filter((r) => r === requester);
  const parsed = parseUserBlockTarget(requester);
  if (!parsed.ok || parsed.block.kind !== "user") {
    throw problems.badRequest("name the requester as user@domain", { reason: "invalidRequester" });
  }
  const block = [parsed.block];
  return rows.rows.map((row) => row.requester).filter((actor) => blocksActor(block, actor));
}

/**
 * `POST /api/v1/me/invites/accept {requester}` (bearer): the requester becomes a contact, so their
 * next claim (and add) goes through. 200 `{ accepted: [actor] }`; 404 `noInvite`.
 */
export function acceptInvite(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const { requester } = validate(inviteBody, req.body);
    const actors = await matchingInvites(ctx, username, requester);
    if (actors.length === 0) throw problems.notFound(`no invite from ${requester}`, { reason: "noInvite" });
    await ctx.sql.transaction(async (tx) => {
      for (const actor of actors) {
        await tx.query(
          `insert into identity.contacts (username, contact, source)
           select $1, $2, 'accepted'
            where (select count(*) from identity.contacts where username = $1) < $3
           on conflict (username, contact) do update set source = 'accepted'`,
          [username, actor, MAX_CONTACTS_PER_USER],
        );
        await tx.query("delete from identity.invites where username = $1 and requester = $2", [
          username,
          actor,
        ]);
      }
    });
    res.json({ accepted: actors });
  };
}

/** `POST /api/v1/me/invites/decline {requester}` (bearer): drops the invite. 204; 404 `noInvite`. */
export function declineInvite(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const { requester } = validate(inviteBody, req.body);
    const actors = await matchingInvites(ctx, username, requester);
    if (actors.length === 0) throw problems.notFound(`no invite from ${requester}`, { reason: "noInvite" });
    await ctx.sql.query("delete from identity.invites where username = $1 and requester = any($2::text[])", [
      username,
      actors,
    ]);
    res.status(204).end();
  };
}
