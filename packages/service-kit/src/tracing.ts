/**
 * OpenTelemetry tracing for a service process, off unless the standard OTEL_* variables ask for it:
 * `OTEL_TRACES_EXPORTER` (other than `none`), `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` wins over all of them. The exporter,
 * sampler, resource and propagators come from the same variables (NodeSDK reads them).
 *
 * Instrumented: inbound and outbound HTTP (node:http, undici), express, pg, ioredis, kafkajs, pino
 * (trace ids in log lines). The bus adds its own consumer spans and carries `traceparent` in record
 * headers (@mimi/bus), so a trace runs HTTP -> bus -> HTTP across services and providers.
 */
import { createRequire } from "node:module";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";

export interface TracingOptions {
  /** `service.name` unless OTEL_SERVICE_NAME sets it. */
  serviceName: string;
  env?: Record<string, string | undefined>;
  /** Used instead of the exporter OTEL_* names, and turns tracing on (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  enabled: boolean;
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Whether the environment asks for traces (pure: reads only `env`). */
export function tracingRequested(env: Record<string, string | undefined>): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").toLowerCase() === "true") return false;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? "").trim().toLowerCase();
  if (exporter === "none") return false;
  return (
    exporter !== "" || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  );
}

const disabled: Tracing = { enabled: false, shutdown: async () => {} };

/** Set by {@link preloadInstrumentations}; a process-wide flag, so the later SDK does not register them twice. */
const PRELOADED = Symbol.for("mimi.tracing.instrumentationsPreloaded");

function instrumentationsPreloaded(): boolean {
  return (globalThis as Record<symbol, unknown>)[PRELOADED] === true;
}

async function createInstrumentations() {
  const { getNodeAutoInstrumentations } = await import("@opentelemetry/auto-instrumentations-node");
  return getNodeAutoInstrumentations({
    // File system, DNS and socket spans would drown the request spans.
    "@opentelemetry/instrumentation-fs": { enabled: false },
    "@opentelemetry/instrumentation-dns": { enabled: false },
    "@opentelemetry/instrumentation-net": { enabled: false },
    // Background pollers (delivery scheduler, mailbox safety poll) query on a timer: their queries are
    // traced only inside a request or bus handler, not as thousands of one-span traces.
    "@opentelemetry/instrumentation-pg": { requireParentSpan: true },
    "@opentelemetry/instrumentation-ioredis": { requireParentSpan: true },
    // Health and metrics probes are not worth a trace each.
    "@opentelemetry/instrumentation-http": {
      ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ""),
    },
  });
}

/**
 * Registers the instrumentations before the application's modules load, when the environment asks for
 * traces: an ES module graph is linked before any of its code runs, so `express`, `pg`, `ioredis` and
 * `kafkajs` imported by a service are patched only if the loader hook (import-in-the-middle) and the
 * instrumentations are in place first. Run from `node --import <instrument module>` (see
 * `instrument.ts`); {@link startTracing} later starts the SDK with the service's name, and the
 * instrumentations, which resolve their tracer through the global API, start emitting then.
 */
export async function preloadInstrumentations(
  env: Record<string, string | undefined> = process.env,
): Promise<boolean> {
  if (!tracingRequested(env) || instrumentationsPreloaded()) return false;
  const [{ register }, { createAddHookMessageChannel }, { registerInstrumentations }] = await Promise.all([
    import("node:module"),
    import("import-in-the-middle"),
    import("@opentelemetry/instrumentation"),
  ]);
  // Only the modules an instrumentation asks for are wrapped; the channel tells the loader which.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);
  registerInstrumentations({ instrumentations: await createInstrumentations() });
  await waitForAllMessagesAcknowledged();
  (globalThis as Record<symbol, unknown>)[PRELOADED] = true;
  return true;
}

/**
 * Starts the SDK when asked for. Call it first in a process, before servers and clients are created.
 * Instrumentations patch modules as they are loaded: a service process preloads them
 * ({@link preloadInstrumentations}); otherwise they are registered here, which instruments what is
 * loaded with `require` afterwards (and node:http). The SDK is loaded only when tracing is on, so a
 * process without tracing does not pay for it.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  if (!options.spanProcessors && !tracingRequested(env)) return disabled;
  const preloaded = instrumentationsPreloaded();
  const [{ NodeSDK }, instrumentations] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    preloaded ? Promise.resolve([]) : createInstrumentations(),
  ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? options.serviceName,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    instrumentations,
  });
  sdk.start();
  if (!preloaded) {
    // ES modules import node:http without passing through `require`; requiring it once lets the HTTP
    // instrumentation patch the shared module object and its Server prototype.
    const require = createRequire(import.meta.url);
    require("node:http");
    require("node:https");
  }
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
