import { describe, expect, it } from "vitest";
import {
  createHealthRegistry,
  createLogger,
  createMetrics,
  currentServiceRuntime,
  runWithServiceRuntime,
  type ServiceRuntime,
} from "../src/index.js";

describe("service runtime", () => {
  it("is the runtime given to runWithServiceRuntime, across awaits and timers, and nothing outside", async () => {
    const runtime: ServiceRuntime = {
      logger: createLogger({ name: "test", level: "silent" }),
      metrics: createMetrics({ defaultMetrics: false }),
      health: createHealthRegistry(),
    };
    expect(currentServiceRuntime()).toBeUndefined();
    const seen = await runWithServiceRuntime(runtime, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentServiceRuntime();
    });
    expect(seen).toBe(runtime);
    expect(currentServiceRuntime()).toBeUndefined();
  });
});
