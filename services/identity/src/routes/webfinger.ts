import { JRD_JSON, parseAcct } from "@mimi/activitypub";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { findAccount, findDeletedAccount } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { webfingerDocument } from "../domain/documents.js";
import { goneProblem } from "./delete-account.js";

/** `GET /.well-known/webfinger?resource=acct:user@domain` (RFC 7033, RFC 7565). */
export function webfinger(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const resource = req.query.resource;
    if (typeof resource !== "string" || resource.length === 0) {
      throw problems.badRequest("the resource query parameter is required");
    }
    const acct = resolveResource(ctx, resource);
    if (acct.host !== ctx.urls.domain)
      throw problems.notFound(`${resource} is not an account on ${ctx.urls.domain}`);
    const account = await findAccount(ctx.sql, acct.user);
    if (!account && (await findDeletedAccount(ctx.sql, acct.user))) throw goneProblem(acct.user);
    if (!account) throw problems.notFound(`no account ${resource}`);
    res.setHeader("access-control-allow-origin", "*");
    res
      .type(JRD_JSON)
      .send(JSON.stringify(webfingerDocument(ctx.urls, { user: account.username, host: acct.host })));
  };
}

/** Accepts `acct:` URIs and, as Mastodon does, this provider's own actor URLs. */
function resolveResource(ctx: IdentityContext, resource: string) {
  if (resource.startsWith("http://") || resource.startsWith("https://")) {
    const prefix = `${ctx.urls.actor("")}`;
    if (resource.startsWith(prefix) && !resource.slice(prefix.length).includes("/")) {
      return { user: decodeURIComponent(resource.slice(prefix.length)), host: ctx.urls.domain };
    }
    throw problems.notFound(`${resource} is not an actor of ${ctx.urls.domain}`);
  }
  const parsed = parseAcct(resource);
  if (!parsed.ok) throw problems.badRequest(`malformed resource: ${parsed.reason}`);
  return parsed.acct;
}
