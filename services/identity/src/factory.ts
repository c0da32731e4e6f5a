import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
} from "@mimi/provider-config";
import { openServiceRateLimiters } from "@mimi/rate-limits";
import { readConfig } from "@mimi/service-kit";
import { identityConfigSpec } from "./config.js";
import { createIdentityContext, type IdentitySettings, prepareIdentity } from "./context.js";
import { identityMigrations } from "./migrations.js";
import { identityRouter } from "./router.js";

export type { IdentitySettings };

/**
 * Identity, built: the instance actor's key and the domain CA exist before it serves. It opens only
 * its rate-limit backend (Redis when REDIS_URL is set) and runs no workers.
 */
export function createIdentityService(
  deps: ServiceDeps,
  settings: IdentitySettings,
): Promise<ProviderService> {
  return buildService(deps.logger, async (stack) => {
    const rateLimiters = openServiceRateLimiters(settings, {
      domain: deps.config.domain,
      logger: deps.logger,
      replicated: deps.deployment.kind === "split",
    });
    stack.defer(() => rateLimiters.close());
    const ctx = createIdentityContext({
      config: deps.config,
      sql: deps.sql,
      logger: deps.logger,
      settings,
      rateLimiters,
    });
    await prepareIdentity(ctx);
    return { routers: [identityRouter(ctx)] };
  });
}

export const identityService: ServiceDefinition<IdentitySettings> = {
  name: "identity",
  // Actor keys: identity creates the instance actor's and every user's.
  migrations: [actorKeyMigrations, identityMigrations],
  readSettings: (env) => readConfig(identityConfigSpec, env),
  create: createIdentityService,
};
