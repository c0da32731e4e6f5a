import "reflect-metadata";
import { actorKeyMigrations } from "@mimi/actor-keys";
import { runService } from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { identityConfigSpec } from "./config.js";
import { createIdentityContext, prepareIdentity } from "./context.js";
import { identityMigrations } from "./migrations.js";
import { identityRouter } from "./router.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService({
  name: "identity",
  migrations: [actorKeyMigrations, identityMigrations],
  async start({ config, sql, logger }) {
    const settings = readConfig(identityConfigSpec);
    const ctx = createIdentityContext({ config, sql, logger, openRegistrations: settings.openRegistrations });
    await prepareIdentity(ctx);
    return { routers: [identityRouter(ctx)] };
  },
});
