import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
} from "@mimi/provider-config";
import { openRateLimiters } from "@mimi/rate-limits";
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
    if (deps.deployment.kind === "split" && !settings.redisUrl) {
      deps.logger.warn("REDIS_URL is not set: rate limits count per replica, in memory");
    }
    const rateLimiters = openRateLimiters({
      redisUrl: settings.redisUrl,
      // The domain in every key: providers sharing one Redis never spend each other's windows.
      keyPrefix: `${settings.rateLimitRedisPrefix}${deps.config.domain}:`,
      onError: (error) =>
        deps.logger.warn({ err: error }, "rate-limit Redis unavailable: counting in memory meanwhile"),
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
