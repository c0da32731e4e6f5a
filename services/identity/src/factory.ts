import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
} from "@mimi/provider-config";
import { type ConfigOf, readConfig } from "@mimi/service-kit";
import { identityConfigSpec } from "./config.js";
import { createIdentityContext, prepareIdentity } from "./context.js";
import { identityMigrations } from "./migrations.js";
import { identityRouter } from "./router.js";

export type IdentitySettings = ConfigOf<typeof identityConfigSpec>;

/**
 * Identity, built: the instance actor's key and the domain CA exist before it serves. It opens
 * nothing of its own and runs no workers.
 */
export function createIdentityService(
  deps: ServiceDeps,
  settings: IdentitySettings,
): Promise<ProviderService> {
  return buildService(deps.logger, async () => {
    const ctx = createIdentityContext({
      config: deps.config,
      sql: deps.sql,
      logger: deps.logger,
      openRegistrations: settings.openRegistrations,
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
