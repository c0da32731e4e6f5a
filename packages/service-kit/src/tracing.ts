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

/**
 * Starts the SDK when asked for. Call it first in a process, before servers and clients are created:
 * instrumentations patch modules as they are loaded. The SDK is loaded only then, so a process without
 * tracing does not pay for it.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  if (!options.spanProcessors && !tracingRequested(env)) return disabled;
  const [{ NodeSDK }, { getNodeAutoInstrumentations }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/auto-instrumentations-node"),
  ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? options.serviceName,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    instrumentations: [
      getNodeAutoInstrumentations({
        // File system, DNS and socket spans would drown the request spans.
        "@opentelemetry/instrumentation-fs": { enabled: false },
        "@opentelemetry/instrumentation-dns": { enabled: false },
        "@opentelemetry/instrumentation-net": { enabled: false },
        // Health and metrics probes are not worth a trace each.
        "@opentelemetry/instrumentation-http": {
          ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ""),
        },
      }),
    ],
  });
  sdk.start();
  // ES modules import node:http without passing through `require`; requiring it once lets the HTTP
  // instrumentation patch the shared module object and its Server prototype.
  const require = createRequire(import.meta.url);
  require("node:http");
  require("node:https");
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
