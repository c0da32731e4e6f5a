import { BUS_HEALTH_COMPONENT, createInProcessBus } from "@mimi/bus";
import {
  ConfigError,
  createHealthRegistry,
  createLogger,
  createMetrics,
  runWithServiceRuntime,
} from "@mimi/service-kit";
import type { MigrationSet, Sql } from "@mimi/store";
import { Router } from "express";
import { describe, expect, it } from "vitest";
import {
  buildService,
  configure,
  createShutdownStack,
  migrationsOf,
  type ProviderService,
  readProviderConfig,
  type ServiceDeps,
  serviceBus,
  startServices,
} from "../src/index.js";

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: Array<{ msg: string }> = [];
  const logger = createLogger({
    name: "test",
    destination: { write: (line) => lines.push(JSON.parse(line) as { msg: string }) },
  });
  return { logger, lines };
}

const silent = createLogger({ name: "test", level: "silent" });

/** A service that records in `events` when it is built, started and closed. */
function recordedService(name: string, events: string[], options: { failBuild?: boolean } = {}) {
  return () =>
    buildService(silent, async (stack) => {
      events.push(`open ${name}`);
      stack.defer(async () => {
        events.push(`release ${name}`);
      });
      if (options.failBuild) throw new Error(`${name} cannot start`);
      return {
        routers: [Router()],
        readiness: [{ name, check: async () => {} }],
        startWorkers: async () => {
          events.push(`start ${name}`);
          return {
            stop: async () => {
              events.push(`stop ${name}`);
            },
          };
        },
      };
    });
}

describe("shutdown stack", () => {
  it("closes newest first, once, and goes on past a failure it logs", async () => {
    const { logger, lines } = recordingLogger();
    const stack = createShutdownStack(logger);
    const closed: string[] = [];
    stack.defer(async () => {
      closed.push("database");
    });
    stack.defer(async () => {
      throw new Error("bus would not close");
    });
    stack.defer(async () => {
      closed.push("workers");
    });
    await Promise.all([stack.closeAll(), stack.closeAll()]);
    expect(closed).toEqual(["workers", "database"]);
    expect(lines.filter((line) => line.msg === "error while shutting down")).toHaveLength(1);
    expect(() => stack.defer(async () => {})).toThrow(/already closing/);
  });
});

describe("buildService", () => {
  it("stops the workers before releasing what the service opened, and starts them once", async () => {
    const events: string[] = [];
    const service = await recordedService("directory", events)();
    await service.startWorkers();
    await service.startWorkers();
    await service.close();
    expect(events).toEqual(["open directory", "start directory", "stop directory", "release directory"]);
  });

  it("releases what a failed build had opened, then throws", async () => {
    const events: string[] = [];
    await expect(recordedService("directory", events, { failBuild: true })()).rejects.toThrow(/cannot start/);
    expect(events).toEqual(["open directory", "release directory"]);
  });
});

describe("startServices", () => {
  it("starts workers once every service is built and closes in reverse order", async () => {
    const events: string[] = [];
    const composed = await startServices(
      [recordedService("fanout", events), recordedService("ingest", events)],
      silent,
    );
    expect(events).toEqual(["open fanout", "open ingest", "start fanout", "start ingest"]);
    expect(composed.routers).toHaveLength(2);
    expect(composed.readiness.map((check) => check.name)).toEqual(["fanout", "ingest"]);
    events.length = 0;
    await composed.close();
    expect(events).toEqual(["stop ingest", "release ingest", "stop fanout", "release fanout"]);
  });

  it("closes the services already built when a later one fails, and starts none", async () => {
    const events: string[] = [];
    await expect(
      startServices(
        [recordedService("fanout", events), recordedService("ingest", events, { failBuild: true })],
        silent,
      ),
    ).rejects.toThrow(/ingest cannot start/);
    expect(events).toEqual(["open fanout", "open ingest", "release ingest", "release fanout"]);
  });

  it("closes every service when starting workers fails", async () => {
    const events: string[] = [];
    const failing = (): Promise<ProviderService> =>
      buildService(silent, async () => ({
        routers: [],
        startWorkers: async () => {
          throw new Error("no consumer group");
        },
      }));
    await expect(startServices([recordedService("fanout", events), failing], silent)).rejects.toThrow(
      /no consumer group/,
    );
    expect(events).toEqual(["open fanout", "start fanout", "stop fanout", "release fanout"]);
  });
});

describe("configure", () => {
  it("reads the settings when configured, not when built", () => {
    const definition = {
      name: "probe",
      migrations: [],
      readSettings: (env: Record<string, string | undefined>) => {
        if (env.PROBE_LIMIT !== "1") throw new ConfigError("PROBE_LIMIT", "must be 1");
        return { limit: 1 };
      },
      create: () => Promise.reject(new Error("not built in this test")),
    };
    expect(() => configure(definition, {})).toThrow(ConfigError);
    expect(configure(definition, { PROBE_LIMIT: "1" }).name).toBe("probe");
  });
});

describe("migrationsOf", () => {
  const set = (schema: string): MigrationSet => ({ schema, migrations: [] });
  const keys = set("keys");
  const service = (...migrations: MigrationSet[]) => ({
    name: "s",
    migrations,
    create: () => Promise.reject(new Error("not built")),
  });

  it("lists each schema once, in the order it first appears", () => {
    const identity = set("identity");
    const channels = set("channels");
    expect(migrationsOf([service(keys, identity), service(keys, channels)])).toEqual([
      keys,
      identity,
      channels,
    ]);
  });

  it("refuses two different sets for one schema", () => {
    expect(() => migrationsOf([service(keys), service(set("keys"))])).toThrow(/keys/);
  });
});

describe("serviceBus", () => {
  const depsFor = (deployment: ServiceDeps["deployment"]): ServiceDeps => ({
    config: readProviderConfig({ MIMI_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64") }),
    sql: {} as Sql,
    logger: silent,
    metrics: createMetrics({ defaultMetrics: false }),
    health: createHealthRegistry(),
    deployment,
  });
  const options = { clientId: "probe", topics: ["probe.topic"], onInProcess: () => {} };

  it("hands out the standalone process's bus and leaves closing it to the process", async () => {
    const shared = createInProcessBus();
    const stack = createShutdownStack(silent);
    expect(await serviceBus(depsFor({ kind: "standalone", bus: shared }), stack, options)).toBe(shared);
    await stack.closeAll();
    await shared.publish("probe.topic", [{ key: "k", value: new Uint8Array([1]) }]);
    await shared.close();
  });

  it("opens the split service's own bus and closes it with the stack", async () => {
    const deps = depsFor({ kind: "split" });
    const stack = createShutdownStack(silent);
    let warned = false;
    const previous = process.env.KAFKA_BROKERS;
    delete process.env.KAFKA_BROKERS;
    try {
      await runWithServiceRuntime(deps, () =>
        serviceBus(deps, stack, {
          ...options,
          onInProcess: () => {
            warned = true;
          },
        }),
      );
    } finally {
      if (previous !== undefined) process.env.KAFKA_BROKERS = previous;
    }
    expect(warned).toBe(true);
    expect(deps.health.snapshot().map((component) => component.name)).toEqual([BUS_HEALTH_COMPONENT]);
    await stack.closeAll();
    expect(deps.health.snapshot()).toEqual([]);
  });
});
