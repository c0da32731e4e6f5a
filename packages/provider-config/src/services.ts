import { type Bus, openServiceBus } from "@mimi/bus";
import type { HealthRegistry, Logger, Metrics, ReadinessCheck } from "@mimi/service-kit";
import type { MigrationSet, Sql } from "@mimi/store";
import type { Router } from "express";
import type { ProviderConfig } from "./config.js";

/**
 * How the service is deployed, which decides what it shares with the others:
 * - `standalone`: the whole provider in one process, the only one. Every service uses `bus`, the
 *   process's in-process bus, and nothing has replicas to coordinate with.
 * - `split`: the service alone in its process, which may be one of several replicas. It opens its own
 *   bus (Kafka when `KAFKA_BROKERS` is set) and coordinates replicas through shared stores.
 */
export type Deployment = { kind: "standalone"; bus: Bus } | { kind: "split" };

/** What every service is built from; both compositions (runService, the standalone process) pass it. */
export interface ServiceDeps {
  config: ProviderConfig;
  sql: Sql;
  logger: Logger;
  metrics: Metrics;
  /**
   * Where components report their own health (`/readyz`, and `/healthz` for what only a restart
   * mends). In the split deployment it is also the service runtime's while the service is built, so
   * a bus opened with `openServiceBus` registers its consumers itself.
   */
  health: HealthRegistry;
  deployment: Deployment;
}

/** One service, built: what the HTTP server mounts, its background work, and how it ends. */
export interface ProviderService {
  /** Mounted at the root, in order. */
  routers: Router[];
  /** Checks beyond the database's, which the composition adds once. */
  readiness: ReadinessCheck[];
  /** Starts the bus consumers and pollers; the composition calls it once every service is built. */
  startWorkers(): Promise<void>;
  /** Stops the workers, then releases what the service opened, newest first. Safe to call twice. */
  close(): Promise<void>;
}

/** A service as its package describes it, for `runService` and the standalone process alike. */
export interface ServiceDefinition<Settings> {
  /** e.g. `inbox-ingest`: names the logger, the tracing service and the database connections. */
  name: string;
  /** Applied in order, before the service is built (`node dist/main.js migrate` applies only these). */
  migrations: readonly MigrationSet[];
  /** Reads and checks the service's own settings; throws `ConfigError` naming the variable. */
  readSettings(env: Record<string, string | undefined>): Settings;
  create(deps: ServiceDeps, settings: Settings): Promise<ProviderService>;
}

/** A definition whose settings were read: ready to build. */
export interface ConfiguredService {
  name: string;
  migrations: readonly MigrationSet[];
  create(deps: ServiceDeps): Promise<ProviderService>;
}

/** Reads the definition's settings now, so a bad one stops the process before anything starts. */
export function configure<Settings>(
  definition: ServiceDefinition<Settings>,
  env: Record<string, string | undefined>,
): ConfiguredService {
  const settings = definition.readSettings(env);
  return {
    name: definition.name,
    migrations: definition.migrations,
    create: (deps) => definition.create(deps, settings),
  };
}

/**
 * The migration sets of several services, each schema once, in the order they first appear (schemas
 * that others read, like `keys`, are listed by every service that needs them).
 */
export function migrationsOf(services: readonly ConfiguredService[]): MigrationSet[] {
  const bySchema = new Map<string, MigrationSet>();
  for (const set of services.flatMap((service) => service.migrations)) {
    const known = bySchema.get(set.schema);
    if (known !== undefined && known !== set) {
      throw new Error(`two different migration sets for the schema ${set.schema}`);
    }
    bySchema.set(set.schema, set);
  }
  return [...bySchema.values()];
}

/**
 * Releases resources in reverse order of their registration, so whatever is opened later (and may
 * use what was opened before it) is closed first. Shutdown order follows from construction order
 * instead of a list kept by hand.
 */
export interface ShutdownStack {
  /** Registers `close`, to run before everything registered earlier. */
  defer(close: () => Promise<void>): void;
  /** Runs every registered close once, newest first; one that fails is logged and the rest still run. */
  closeAll(): Promise<void>;
}

export function createShutdownStack(logger: Logger): ShutdownStack {
  const closers: Array<() => Promise<void>> = [];
  let closing: Promise<void> | undefined;
  return {
    defer(close) {
      // A resource registered after shutdown began would never be released.
      if (closing) throw new Error("the shutdown stack is already closing");
      closers.push(close);
    },
    closeAll() {
      closing ??= (async () => {
        for (const close of [...closers].reverse()) {
          try {
            await close();
          } catch (error) {
            logger.error({ err: error }, "error while shutting down");
          }
        }
      })();
      return closing;
    },
  };
}

/** What a service's factory builds; `buildService` turns it into a `ProviderService`. */
export interface ServiceParts {
  routers: Router[];
  readiness?: ReadinessCheck[];
  /** Starts the background work; what it returns is stopped first on shutdown. */
  startWorkers?: () => Promise<{ stop(): Promise<void> }>;
}

/**
 * A `ProviderService` from `build`, which registers what it opens on `stack` as it goes. Shutdown
 * stops the workers first, then closes the rest newest first. When `build` throws, what it had
 * already opened is closed before the error propagates.
 */
export async function buildService(
  logger: Logger,
  build: (stack: ShutdownStack) => Promise<ServiceParts>,
): Promise<ProviderService> {
  const stack = createShutdownStack(logger);
  let parts: ServiceParts;
  try {
    parts = await build(stack);
  } catch (error) {
    await stack.closeAll();
    throw error;
  }
  let started = false;
  return {
    routers: parts.routers,
    readiness: parts.readiness ?? [],
    async startWorkers() {
      if (started || !parts.startWorkers) return;
      started = true;
      const workers = await parts.startWorkers();
      stack.defer(() => workers.stop());
    },
    close: () => stack.closeAll(),
  };
}

/**
 * The bus a service publishes and consumes on: the standalone process's shared one, or in the split
 * deployment its own (`openServiceBus`: Kafka when `KAFKA_BROKERS` is set, otherwise an in-process
 * bus, which `onInProcess` warns about), closed by `stack` after what is registered later.
 */
export async function serviceBus(
  deps: ServiceDeps,
  stack: ShutdownStack,
  options: { clientId: string; topics: string[]; onInProcess: () => void },
): Promise<Bus> {
  if (deps.deployment.kind === "standalone") return deps.deployment.bus;
  const bus = await openServiceBus(options);
  stack.defer(() => bus.close());
  return bus;
}

/** Several services composed into one process: their routes, their readiness checks, one shutdown. */
export interface ComposedServices {
  routers: Router[];
  readiness: ReadinessCheck[];
  /** Closes the services in reverse order of `builders`. */
  close(): Promise<void>;
}

/**
 * Builds the services in order, then starts their workers in the same order once every service is
 * built. Shutdown closes them in reverse order: list a service after those that consume what it
 * produces, and it stops feeding them before they stop. If one fails to build or to start, those
 * already built are closed before the error propagates.
 */
export async function startServices(
  builders: ReadonlyArray<() => Promise<ProviderService>>,
  logger: Logger,
): Promise<ComposedServices> {
  const stack = createShutdownStack(logger);
  const services: ProviderService[] = [];
  try {
    for (const build of builders) {
      const service = await build();
      stack.defer(() => service.close());
      services.push(service);
    }
    for (const service of services) await service.startWorkers();
  } catch (error) {
    await stack.closeAll();
    throw error;
  }
  return {
    routers: services.flatMap((service) => service.routers),
    readiness: services.flatMap((service) => service.readiness),
    close: () => stack.closeAll(),
  };
}
