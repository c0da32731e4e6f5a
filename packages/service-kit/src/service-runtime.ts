import { AsyncLocalStorage } from "node:async_hooks";
import type { HealthRegistry } from "./health.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

/**
 * The process's logger, metrics and health registry, as the code that starts a service sees them.
 * Shared building blocks (the bus, for one) report their crashes, metrics and health through it,
 * so a service wires them without passing these along by hand.
 */
export interface ServiceRuntime {
  logger: Logger;
  metrics: Metrics;
  health: HealthRegistry;
}

const storage = new AsyncLocalStorage<ServiceRuntime>();

/** Runs `work` (and everything it awaits or schedules) with `runtime` as the current service runtime. */
export function runWithServiceRuntime<T>(runtime: ServiceRuntime, work: () => T): T {
  return storage.run(runtime, work);
}

/** The runtime of the service being started here, if this code runs inside `runWithServiceRuntime`. */
export function currentServiceRuntime(): ServiceRuntime | undefined {
  return storage.getStore();
}
