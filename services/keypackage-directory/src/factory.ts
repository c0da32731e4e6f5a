import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
} from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { type KeyPackageDirectorySettings, keyPackageDirectoryConfigSpec } from "./config.js";
import { claimDepsOf, createKeyPackageDirectoryContext, prepareKeyPackageDirectory } from "./context.js";
import { startDeletedClientSweep } from "./deleted-clients.js";
import { keyPackageDirectoryMigrations } from "./migrations.js";
import { keyPackageDirectoryRouter } from "./router.js";

/**
 * The keypackage directory, built: its claim pools rebuilt from SQL before it serves. It consumes no
 * topic, so it runs no workers; shutdown releases its outbound HTTP client and claim state.
 */
export function createKeyPackageDirectoryService(
  deps: ServiceDeps,
  settings: KeyPackageDirectorySettings,
): Promise<ProviderService> {
  return buildService(deps.logger, async (stack) => {
    // One standalone process is the only replica there can be; split ones may be several.
    if (deps.deployment.kind === "split" && !settings.redisUrl) {
      deps.logger.warn(
        "REDIS_URL is not set: claim state and answered claim signatures are kept in memory, so run a single replica",
      );
    }
    const ctx = createKeyPackageDirectoryContext({
      config: deps.config,
      sql: deps.sql,
      logger: deps.logger,
      settings,
      metrics: deps.metrics,
    });
    stack.defer(() => ctx.close());
    await prepareKeyPackageDirectory(ctx);
    const sweep = startDeletedClientSweep(claimDepsOf(ctx), settings.deletedClientSweepSeconds * 1000);
    stack.defer(() => sweep.stop());
    return { routers: [keyPackageDirectoryRouter(ctx)] };
  });
}

export const keyPackageDirectoryService: ServiceDefinition<KeyPackageDirectorySettings> = {
  name: "keypackage-directory",
  // Actor keys: remote claims are signed as the requesting user's actor (identity owns the table too).
  migrations: [actorKeyMigrations, keyPackageDirectoryMigrations],
  readSettings: (env) => readConfig(keyPackageDirectoryConfigSpec, env),
  create: createKeyPackageDirectoryService,
};
