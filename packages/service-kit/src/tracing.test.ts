import { describe, expect, it } from "vitest";
import { preloadInstrumentations, startTracing, tracingRequested } from "./tracing.js";

describe("tracingRequested", () => {
  it("is off by default and when disabled or set to none", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "none" })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toBe(false);
  });

  it("is on when an exporter or an OTLP endpoint is named", () => {
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp" })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "console" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(
      true,
    );
  });
});

describe("startTracing", () => {
  it("does nothing when the environment does not ask for traces", async () => {
    const tracing = await startTracing({ serviceName: "test", env: {} });
    expect(tracing.enabled).toBe(false);
    await tracing.shutdown();
  });
});

describe("preloadInstrumentations", () => {
  it("registers no loader hook and no instrumentation unless traces are asked for", async () => {
    expect(await preloadInstrumentations({})).toBe(false);
    expect(await preloadInstrumentations({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toBe(
      false,
    );
    // The process-wide flag that would make startTracing skip registering them stays unset.
    expect(Object.getOwnPropertySymbols(globalThis).map(String)).not.toContain(
      "Symbol(mimi.tracing.instrumentationsPreloaded)",
    );
  });
});
