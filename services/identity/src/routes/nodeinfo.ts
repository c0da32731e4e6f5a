import type { RequestHandler } from "express";
import { countAccounts } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { nodeInfoDiscovery, nodeInfoDocument } from "../domain/documents.js";

/** `GET /.well-known/nodeinfo`: points at the NodeInfo 2.1 document. */
export function nodeInfoLinks(ctx: IdentityContext): RequestHandler {
  return (_req, res) => {
    res.json(nodeInfoDiscovery(ctx.urls.base));
  };
}

/** `GET /nodeinfo/2.1`. */
export function nodeInfo(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const users = await countAccounts(ctx.sql);
    res
      .type('application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"')
      .send(JSON.stringify(nodeInfoDocument(ctx.version, users, ctx.openRegistrations)));
  };
}
