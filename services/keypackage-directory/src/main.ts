import "reflect-metadata";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { runService } from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { keyPackageDirectoryConfigSpec } from "./config.js";
import { createKeyPackageDirectoryContext, prepareKeyPackageDirectory } from "./context.js";
import { keyPackageDirectoryMigrations } from "./migrations.js";
import { keyPackageDirectoryRouter } from "./router.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService({
  name: "keypackage-directory",
  // Actor keys: remote claims are signed as the requesting user's actor (identity owns the table too).
  migrations: [actorKeyMigrations, keyPackageDirectoryMigrations],
  async start({ config, sql, logger }) {
    const settings = readConfig(keyPackageDirectoryConfigSpec);
    if (!settings.redisUrl) {
      logger.warn(
        "REDIS_URL is not set: claim state and answered claim signatures are kept in memory, so run a single replica",
      );
    }
    const ctx = createKeyPackageDirectoryContext({ config, sql, logger, settings });
    await prepareKeyPackageDirectory(ctx);
    return { routers: [keyPackageDirectoryRouter(ctx)], closers: [() => ctx.close()] };
  },
});
