import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One span as the OTLP/HTTP JSON encoding carries it, with its resource's identifying attributes. */
export interface CollectedSpan {
  service: string;
  /** `service.namespace`: the provider's domain in the split deployment. */
  namespace: string;
  processId: string;
  scope: string;
  traceId: string;
  name: string;
}

export interface OtlpCollector {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends `/v1/traces`). */
  endpoint: string;
  spans: CollectedSpan[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null;
const listAt = (value: Json, key: string): Json[] => {
  const list = value[key];
  return Array.isArray(list) ? list.filter(isObject) : [];
};

function attributeOf(resource: unknown, key: string): string {
  if (!isObject(resource)) return "";
  const attribute = listAt(resource, "attributes").find((entry) => entry.key === key);
  const value = attribute && isObject(attribute.value) ? attribute.value : {};
  if (typeof value.stringValue === "string") return value.stringValue;
  if (typeof value.intValue === "string" || typeof value.intValue === "number") return String(value.intValue);
  return "";
}

/** The spans of an `ExportTraceServiceRequest` in its JSON encoding. */
export function spansOf(request: unknown): CollectedSpan[] {
  if (!isObject(request)) return [];
  return listAt(request, "resourceSpans").flatMap((resourceSpans) => {
    const resource = resourceSpans.resource;
    const identity = {
      service: attributeOf(resource, "service.name"),
      namespace: attributeOf(resource, "service.namespace"),
      processId: attributeOf(resource, "process.pid"),
    };
    return listAt(resourceSpans, "scopeSpans").flatMap((scopeSpans) => {
      const scope =
        isObject(scopeSpans.scope) && typeof scopeSpans.scope.name === "string" ? scopeSpans.scope.name : "";
      return listAt(scopeSpans, "spans").map((span) => ({
        ...identity,
        scope,
        traceId: typeof span.traceId === "string" ? span.traceId : "",
        name: typeof span.name === "string" ? span.name : "",
      }));
    });
  });
}

/**
 * A trace receiver for tests: services export to it with OTEL_EXPORTER_OTLP_PROTOCOL=http/json, as
 * they would to an OpenTelemetry Collector.
 */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      try {
        spans.push(...spansOf(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch {
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
