import { actorKeyMigrations } from "@mimi/actor-keys";
import {
  buildService,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
  serviceBus,
} from "@mimi/provider-config";
import { readConfig } from "@mimi/service-kit";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import { createInProcessNotifier, createPgNotifier, type MailboxNotifier } from "./adapters/notifier.js";
import { type DeliveryFanoutConfig, deliveryFanoutConfigSpec, deliverySettingsFrom } from "./config.js";
import { closeDeliveryFanout, createDeliveryFanoutContext, prepareDeliveryFanout } from "./context.js";
import { deliveryFanoutMigrations } from "./migrations.js";
import { deliveryFanoutRouter } from "./router.js";
import { startDeliveryFanoutWorkers } from "./workers.js";

/**
 * delivery-fanout, built: its workers expand delivery requests, send jobs and write mailboxes.
 * Shutdown stops them first (offsets of finished work committed, deliveries under way finished),
 * then releases the context (HTTP client, notifier, signing threads), then its own bus.
 */
export function createDeliveryFanoutService(
  deps: ServiceDeps,
  settings: DeliveryFanoutConfig,
): Promise<ProviderService> {
  return buildService(deps.logger, async (stack) => {
    const bus = await serviceBus(deps, stack, {
      clientId: "delivery-fanout",
      topics: [deliveryRequestsTopic.name, deliveryJobsTopic.name, userInboxTopic.name],
      onInProcess: () =>
        deps.logger.warn("KAFKA_BROKERS is not set: only this process's own deliveries are handled"),
    });
    const ctx = createDeliveryFanoutContext({
      config: deps.config,
      sql: deps.sql,
      logger: deps.logger,
      bus,
      settings: deliverySettingsFrom(settings),
      notifier: await mailboxNotifierFor(deps, settings),
      metrics: deps.metrics,
    });
    stack.defer(() => closeDeliveryFanout(ctx));
    await prepareDeliveryFanout(ctx);
    return { routers: [deliveryFanoutRouter(ctx)], startWorkers: () => startDeliveryFanoutWorkers(ctx) };
  });
}

/**
 * How mailbox writers wake live streams. The standalone process holds every stream itself; split
 * replicas each hold some, so writes are announced through PostgreSQL (`MIMI_MAILBOX_NOTIFIER`).
 */
async function mailboxNotifierFor(
  deps: ServiceDeps,
  settings: DeliveryFanoutConfig,
): Promise<MailboxNotifier> {
  if (deps.deployment.kind === "standalone") return createInProcessNotifier();
  const { databaseUrl } = deps.config;
  const postgres =
    settings.mailboxNotifier === "postgres" ||
    (settings.mailboxNotifier === "auto" && databaseUrl !== undefined);
  if (!postgres) return createInProcessNotifier();
  if (!databaseUrl) throw new Error("MIMI_MAILBOX_NOTIFIER=postgres needs DATABASE_URL");
  return createPgNotifier({
    connectionString: databaseUrl,
    onError: (error) => deps.logger.warn({ err: error }, "mailbox notifier connection problem"),
  });
}

export const deliveryFanoutService: ServiceDefinition<DeliveryFanoutConfig> = {
  name: "delivery-fanout",
  // Identity owns `identity` (accounts, tokens), which this service reads; its migrations run there.
  migrations: [actorKeyMigrations, deliveryFanoutMigrations],
  readSettings: (env) => readConfig(deliveryFanoutConfigSpec, env),
  create: createDeliveryFanoutService,
};
