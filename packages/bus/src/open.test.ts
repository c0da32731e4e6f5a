import { randomUUID } from "node:crypto";
import {
  ConfigError,
  createApp,
  createHealthRegistry,
  createLogger,
  createMetrics,
  livenessFailures,
  readinessFailures,
  runWithServiceRuntime,
  type ServiceRuntime,
  startServer,
} from "@mimi/service-kit";
import { describe, expect, it } from "vitest";
import { BUS_HEALTH_COMPONENT, openServiceBus } from "./open";
import type { Bus, HandlerOutcome } from "./types";
import { waitUntil } from "./wait";

const brokers = process.env.KAFKA_BROKERS ?? "";

interface LogLine {
  level: number;
  msg: string;
  group?: string;
  topics?: string[];
  err?: { message: string };
}

function testRuntime(): ServiceRuntime & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    logger: createLogger({ name: "test", destination: { write: (line) => lines.push(JSON.parse(line)) } }),
    metrics: createMetrics({ defaultMetrics: false }),
    health: createHealthRegistry(),
    lines,
  };
}

const encoder = new TextEncoder();
// Stands for any error escaping a member's record handling (see the contract suite).
const notAnOutcome = undefined as unknown as HandlerOutcome;

/** Subscribes a handler that answers nothing usable until `healed()` says otherwise. */
async function subscribeCrashing(bus: Bus, groupId: string, topic: string, healed: () => boolean) {
  const handled: string[] = [];
  const subscription = await bus.subscribe({
    groupId,
    topics: [topic],
    handle: async (record) => {
      if (!healed()) return notAnOutcome;
      handled.push(new TextDecoder().decode(record.value));
      return { kind: "ok" };
    },
  });
  return { subscription, handled };
}

describe("openServiceBus", () => {
  it("needs the service runtime, from runService or given", async () => {
    await expect(
      openServiceBus({ clientId: "c", topics: [], onInProcess: () => undefined, env: {} }),
    ).rejects.toThrow(/runService/);
    const runtime = testRuntime();
    const bus = await runWithServiceRuntime(runtime, () =>
      openServiceBus({ clientId: "c", topics: [], onInProcess: () => undefined, env: {} }),
    );
    expect(runtime.health.snapshot()).toEqual([{ name: BUS_HEALTH_COMPONENT, health: { status: "up" } }]);
    await bus.close();
    expect(runtime.health.snapshot()).toEqual([]);
  });

  it("names the variable of a heartbeat not below the session timeout, or of delays the wrong way round", async () => {
    const open = (env: Record<string, string>) =>
      openServiceBus({
        clientId: "c",
        topics: [],
        onInProcess: () => undefined,
        env,
        runtime: testRuntime(),
      });
    const heartbeat = await open({
      MIMI_KAFKA_SESSION_TIMEOUT_MS: "6000",
      MIMI_KAFKA_HEARTBEAT_INTERVAL_MS: "6000",
    }).catch((error: unknown) => error);
    expect(heartbeat).toBeInstanceOf(ConfigError);
    expect((heartbeat as ConfigError).variable).toBe("MIMI_KAFKA_HEARTBEAT_INTERVAL_MS");
    const delays = await open({
      MIMI_BUS_CONSUMER_RESTART_DELAY_MS: "5000",
      MIMI_BUS_CONSUMER_RESTART_MAX_DELAY_MS: "1000",
    }).catch((error: unknown) => error);
    expect((delays as ConfigError).variable).toBe("MIMI_BUS_CONSUMER_RESTART_MAX_DELAY_MS");
  });

  it("makes the process not ready while a crashed consumer restarts, and logs and counts the crash", async () => {
    const runtime = testRuntime();
    const bus = await openServiceBus({
      clientId: "c",
      topics: ["t"],
      onInProcess: () => undefined,
      env: { MIMI_BUS_CONSUMER_RESTART_DELAY_MS: "300" },
      runtime,
    });
    try {
      let crashed = false;
      const { handled } = await subscribeCrashing(bus, "g", "t", () => crashed);
      await bus.publish("t", [{ key: "k", value: encoder.encode("record") }]);
      await waitUntil(() => BUS_HEALTH_COMPONENT in readinessFailures(runtime.health), {
        timeoutMs: 10_000,
        description: "the bus to report the crash",
      });
      crashed = true;
      expect(readinessFailures(runtime.health)[BUS_HEALTH_COMPONENT]).toMatch(
        /^consumer group g \(t\) restarting after 1 crash in a row: TypeError: .*not an outcome/,
      );
      // Still live: the consumer mends itself.
      expect(livenessFailures(runtime.health)).toEqual({});
      await waitUntil(() => handled.includes("record"), { timeoutMs: 10_000, description: "the restart" });
      expect(readinessFailures(runtime.health)).toEqual({});

      const crashLine = runtime.lines.find((line) => line.msg === "bus consumer crashed; restarting it");
      expect(crashLine).toMatchObject({ level: 50, group: "g", topics: ["t"] });
      expect(crashLine?.err?.message).toMatch(/not an outcome/);
      expect(runtime.lines.find((line) => line.msg === "bus consumer restarted")).toMatchObject({
        level: 30,
        group: "g",
        topics: ["t"],
      });
      const exposed = await runtime.metrics.registry.metrics();
      expect(exposed).toContain('mimi_bus_consumer_crashes_total{group="g",topic="t"} 1');
      expect(exposed).toContain('mimi_bus_consumer_down{group="g",topic="t"} 0');
    } finally {
      await bus.close();
    }
  });

  it("fails liveness once a consumer gave up, so /healthz answers 503", async () => {
    const runtime = testRuntime();
    const bus = await openServiceBus({
      clientId: "c",
      topics: ["t"],
      onInProcess: () => undefined,
      env: { MIMI_BUS_CONSUMER_RESTARTS: "0" },
      runtime,
    });
    const server = await startServer(
      createApp({ logger: runtime.logger, metrics: runtime.metrics, routers: [], health: runtime.health }),
      { port: 0, host: "127.0.0.1", logger: runtime.logger },
    );
    try {
      await subscribeCrashing(bus, "g", "t", () => false);
      const base = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      await bus.publish("t", [{ key: "k", value: encoder.encode("poison") }]);
      await waitUntil(() => BUS_HEALTH_COMPONENT in livenessFailures(runtime.health), {
        timeoutMs: 10_000,
        description: "the consumer to give up",
      });
      const healthz = await fetch(`${base}/healthz`);
      expect(healthz.status).toBe(503);
      expect(await healthz.json()).toMatchObject({
        status: "unhealthy",
        failures: { bus: expect.stringMatching(/^consumer group g \(t\) gave up after 1 crashes in a row/) },
      });
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect(
        runtime.lines.some((line) => line.level === 50 && line.group === "g" && /stays down/.test(line.msg)),
      ).toBe(true);
      expect(await runtime.metrics.registry.metrics()).toContain(
        'mimi_bus_consumer_down{group="g",topic="t"} 1',
      );
    } finally {
      await server.close();
      await bus.close();
    }
  });

  describe.skipIf(brokers === "")("on Kafka", () => {
    it("wires crash reporting into the Kafka adapter, whose crashed consumer consumes again", async () => {
      const run = randomUUID().slice(0, 8);
      const runtime = testRuntime();
      const bus = await openServiceBus({
        clientId: "open-test",
        topics: ["t"],
        onInProcess: () => undefined,
        env: {
          KAFKA_BROKERS: brokers,
          MIMI_KAFKA_TOPIC_PREFIX: `open-${run}.`,
          MIMI_BUS_CONSUMER_RESTART_DELAY_MS: "100",
        },
        runtime,
      });
      try {
        const crashLogged = () =>
          runtime.lines.some((line) => line.msg === "bus consumer crashed; restarting it");
        const { handled } = await subscribeCrashing(bus, "g", "t", crashLogged);
        await bus.publish("t", [{ key: "k", value: encoder.encode("record") }]);
        await waitUntil(() => handled.includes("record"), {
          timeoutMs: 90_000,
          description: "the record after the restart",
        });
        expect(
          runtime.lines.find((line) => line.msg === "bus consumer crashed; restarting it"),
        ).toMatchObject({
          group: "g",
          topics: ["t"],
        });
        await waitUntil(() => runtime.lines.some((line) => line.msg === "bus consumer restarted"), {
          timeoutMs: 10_000,
          description: "the restart's log line",
        });
        expect(readinessFailures(runtime.health)).toEqual({});
        expect(await runtime.metrics.registry.metrics()).toContain(
          'mimi_bus_consumer_crashes_total{group="g",topic="t"} 1',
        );
        await bus.publish("t", [{ key: "k", value: encoder.encode("after") }]);
        await waitUntil(() => handled.includes("after"), {
          timeoutMs: 45_000,
          description: "the next record",
        });
      } finally {
        await bus.close();
      }
    }, 180_000);
  });
});
