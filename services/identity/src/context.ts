import type { ProviderUrls } from "@mimi/activitypub";
import { type ActorKeyStore, createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import type { ProviderConfig } from "@mimi/provider-config";
import type { Logger } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { type CertificateAuthorities, createCertificateAuthorities } from "./ca.js";

/** Everything identity's handlers need, built once; tests pass overrides. */
export interface IdentityContext {
  urls: ProviderUrls;
  sql: Sql;
  logger: Logger;
  actorKeys: ActorKeyStore;
  tokens: TokenVerifier;
  authorities: CertificateAuthorities;
  openRegistrations: boolean;
  version: string;
}

export function createIdentityContext(
  deps: { config: ProviderConfig; sql: Sql; logger: Logger; openRegistrations?: boolean },
  overrides: Partial<IdentityContext> = {},
): IdentityContext {
  return {
    urls: deps.config.urls,
    sql: deps.sql,
    logger: deps.logger,
    actorKeys: createActorKeyStore(deps.sql, deps.config.keyEncryptionKey),
    tokens: createTokenVerifier(deps.sql),
    authorities: createCertificateAuthorities(deps.sql, deps.config.domain, deps.config.keyEncryptionKey),
    openRegistrations: deps.openRegistrations ?? true,
    version: "0.1.0",
    ...overrides,
  };
}

/** Work done once at start: the instance actor's key and the domain CA exist before traffic arrives. */
export async function prepareIdentity(ctx: IdentityContext): Promise<void> {
  await ctx.actorKeys.ensure(ctx.urls.instanceActor);
  await ctx.authorities.active();
}
