import { afterEach, describe, expect, it } from "vitest";
import {
  type ComponentHealth,
  createApp,
  createHealthRegistry,
  createLogger,
  createMetrics,
  livenessFailures,
  type RunningServer,
  readinessFailures,
  startServer,
} from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });

describe("health registry", () => {
  it("reports every component not up as not ready, and only failed ones as not live", () => {
    const registry = createHealthRegistry();
    registry.register("database pool", () => ({ status: "up" }));
    registry.register("consumer a", () => ({ status: "recovering", detail: "restarting after a crash" }));
    registry.register("consumer b", () => ({ status: "failed", detail: "gave up after 3 crashes" }));
    expect(readinessFailures(registry)).toEqual({
      "consumer a": "restarting after a crash",
      "consumer b": "gave up after 3 crashes",
    });
    expect(livenessFailures(registry)).toEqual({ "consumer b": "gave up after 3 crashes" });
  });

  it("counts a check that throws as failed, refuses a second component of one name, and unregisters", () => {
    const registry = createHealthRegistry();
    const remove = registry.register("broken", () => {
      throw new Error("no state");
    });
    expect(livenessFailures(registry)).toEqual({ broken: "health check threw: no state" });
    expect(() => registry.register("broken", () => ({ status: "up" }))).toThrow(/already registered/);
    remove();
    expect(registry.snapshot()).toEqual([]);
    registry.register("broken", () => ({ status: "up" }));
    expect(registry.snapshot()).toEqual([{ name: "broken", health: { status: "up" } }]);
  });
});

describe("createApp with a health registry", () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("answers /readyz 503 while a component recovers and /healthz 503 once one failed", async () => {
    let consumer: ComponentHealth = { status: "up" };
    const health = createHealthRegistry();
    health.register("bus", () => consumer);
    const app = createApp({
      logger,
      metrics: createMetrics({ defaultMetrics: false }),
      routers: [],
      health,
      readiness: [{ name: "database", check: async () => undefined }],
    });
    running = await startServer(app, { port: 0, host: "127.0.0.1", logger });
    const base = `http://127.0.0.1:${running.port}`;
    const probe = async (path: string) => {
      const response = await fetch(`${base}${path}`);
      return { status: response.status, body: await response.json() };
    };

    expect(await probe("/readyz")).toEqual({ status: 200, body: { status: "ready" } });
    expect(await probe("/healthz")).toEqual({ status: 200, body: { status: "ok" } });

    consumer = { status: "recovering", detail: "group g (topic t): restarting" };
    expect(await probe("/readyz")).toEqual({
      status: 503,
      body: { status: "not ready", failures: { bus: "group g (topic t): restarting" } },
    });
    expect(await probe("/healthz")).toEqual({
      status: 200,
      body: { status: "ok", recovering: { bus: "group g (topic t): restarting" } },
    });

    consumer = { status: "failed", detail: "group g (topic t): gave up" };
    expect(await probe("/readyz")).toEqual({
      status: 503,
      body: { status: "not ready", failures: { bus: "group g (topic t): gave up" } },
    });
    expect(await probe("/healthz")).toEqual({
      status: 503,
      body: { status: "unhealthy", failures: { bus: "group g (topic t): gave up" } },
    });
  });
});

describe("metrics gauges", () => {
  it("registers one gauge per name and exposes its labelled values", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const down = metrics.gauge("things_down", "things that are down", ["group"]);
    expect(metrics.gauge("things_down", "things that are down", ["group"])).toBe(down);
    down.set({ group: "g" }, 1);
    expect(await metrics.registry.metrics()).toContain('mimi_things_down{group="g"} 1');
  });
});
