import type { RequestHandler } from "express";
import type { IdentityContext } from "../context.js";
import { mimiConfigurationDocument } from "../domain/documents.js";

/** `GET /.well-known/mimi-configuration`: ciphersuites and the CA certificates that sign client credentials. */
export function mimiConfiguration(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    await ctx.authorities.active();
    const issuers = await ctx.authorities.issuersPem();
    res.setHeader("cache-control", "public, max-age=300");
    res.json(mimiConfigurationDocument(ctx.urls.domain, issuers));
  };
}
