/**
 * What the parts of a process report about themselves, for `/healthz` (liveness) and `/readyz`
 * (readiness). A component that works is `up`; one that is down but mending itself (a consumer
 * restarting after a crash) is `recovering`: the process is not ready, but a restart would not help
 * yet; one that gave up is `failed`: only a restart of the process mends it, so liveness fails too
 * and Kubernetes restarts the pod.
 */
export type ComponentHealth =
  | { status: "up" }
  | { status: "recovering"; detail: string }
  | { status: "failed"; detail: string };

/** A component's current health; called on every probe, so it answers from state, without I/O. */
export type HealthCheck = () => ComponentHealth;

export interface HealthRegistry {
  /**
   * Adds a component under a name unique in the process (a second registration of a name throws);
   * returns the function that removes it again.
   */
  register(name: string, check: HealthCheck): () => void;
  /** Every registered component's health, in registration order. */
  snapshot(): Array<{ name: string; health: ComponentHealth }>;
}

export function createHealthRegistry(): HealthRegistry {
  const checks = new Map<string, HealthCheck>();
  return {
    register(name, check) {
      if (checks.has(name)) throw new Error(`health component ${JSON.stringify(name)} is already registered`);
      checks.set(name, check);
      return () => {
        if (checks.get(name) === check) checks.delete(name);
      };
    },
    snapshot() {
      return [...checks].map(([name, check]) => ({ name, health: healthOf(check) }));
    },
  };
}

/** A check that throws is itself a failure: the probe must not answer "ok" for what it cannot tell. */
function healthOf(check: HealthCheck): ComponentHealth {
  try {
    return check();
  } catch (error) {
    return { status: "failed", detail: `health check threw: ${errorMessage(error)}` };
  }
}

/** Components that make the process not ready (everything not `up`), by name. */
export function readinessFailures(registry: HealthRegistry): Record<string, string> {
  const failures: Record<string, string> = {};
  for (const { name, health } of registry.snapshot()) {
    if (health.status !== "up") failures[name] = health.detail;
  }
  return failures;
}

/** Components that make the process not live (`failed` ones), by name. */
export function livenessFailures(registry: HealthRegistry): Record<string, string> {
  const failures: Record<string, string> = {};
  for (const { name, health } of registry.snapshot()) {
    if (health.status === "failed") failures[name] = health.detail;
  }
  return failures;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
