import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { FAST_DELIVERY_ENV as FAST_RETRIES, infraFromEnv, runE2eSuite } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SplitDeployment, startSplitDeployment } from "../src/deployment.js";
import { type OtlpCollector, startOtlpCollector } from "./otlp-collector.js";

const { available: haveInfra, ...infra } = infraFromEnv();

/** Fast delivery retries (so redelivery shows within seconds), with info logs. */
const FAST_DELIVERY_ENV = { ...FAST_RETRIES, LOG_LEVEL: "info" };

let deployment: SplitDeployment | undefined;
let collector: OtlpCollector | undefined;
let stateDir: string;
/** Set when the suite failed: the service logs then stay for reading. */
let suiteFailed = false;

describe.skipIf(!haveInfra)(
  "the end-to-end suite on a split deployment (15 processes, Kafka, PostgreSQL, Redis)",
  () => {
    beforeAll(async () => {
      stateDir = mkdtempSync(join(tmpdir(), "mimi-split-e2e-"));
      // Every process exports its traces here, as to an OpenTelemetry Collector.
      collector = await startOtlpCollector();
      deployment = await startSplitDeployment({
        domains: ["a.test", "b.test", "c.test"],
        infra,
        stateDir,
        // One fixed prefix, started fresh: reruns reuse (and first empty) the same databases and topics.
        prefix: "mimi_split_e2e",
        fresh: true,
        hostile: true,
        env: {
          ...FAST_DELIVERY_ENV,
          OTEL_TRACES_EXPORTER: "otlp",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
          OTEL_BSP_SCHEDULE_DELAY: "200",
        },
      });
    }, 240_000);

    afterAll(async () => {
      await deployment?.stop();
      await collector?.close();
      // Logs stay for a failed run; a green run leaves nothing behind.
      if (!suiteFailed) rmSync(stateDir, { recursive: true, force: true });
    }, 60_000);

    it("runs services/standalone/test/e2e green against it", async () => {
      if (!deployment) throw new Error("no deployment");
      const { code, output } = await runE2eSuite(deployment.describeForE2e());
      if (code !== 0) {
        suiteFailed = true;
        process.stderr.write(`${output}\nservice logs: ${stateDir}\n`);
      }
      expect(code).toBe(0);
      // Every test ran: none was skipped for lack of a hostile provider or POST counts.
      const summary = /Tests\s+(\d+) passed \((\d+)\)/.exec(stripVTControlCharacters(output));
      expect(summary).not.toBeNull();
      expect(summary?.[1]).toBe(summary?.[2]);
    }, 900_000);

    it("traces express, pg, ioredis and kafkajs inside each service process, one trace across providers", async () => {
      if (!collector) throw new Error("no collector");
      const spans = collector.spans;
      // Libraries each service uses; the scope names are those of the OpenTelemetry instrumentations.
      const expected: Record<string, string[]> = {
        "mimi-identity": ["http", "express", "pg"],
        "mimi-keypackage-directory": ["http", "express", "pg", "ioredis"],
        "mimi-inbox-ingest": ["http", "express", "pg", "kafkajs", "undici"],
        "mimi-channel-sequencer": ["http", "express", "pg", "kafkajs"],
        "mimi-delivery-fanout": ["http", "express", "pg", "kafkajs", "undici"],
      };
      const missing = () =>
        Object.entries(expected).flatMap(([service, libraries]) =>
          libraries
            .map((library) => `@opentelemetry/instrumentation-${library}`)
            .filter((scope) => !spans.some((span) => span.service === service && span.scope === scope))
            .map((scope) => `${service}: ${scope}`),
        );
      // Batches are exported every 200 ms; give the last ones a moment.
      for (let waited = 0; missing().length > 0 && waited < 10_000; waited += 250) {
        await new Promise((done) => setTimeout(done, 250));
      }
      expect(missing()).toEqual([]);

      // Some message's trace runs from one provider's ingest through the sequencer and the fan-out to
      // another provider's ingest: the trace context crossed Kafka and HTTP between processes.
      const traces = new Map<string, typeof spans>();
      for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
      const crossing = [...traces.values()].find((trace) => {
        const ingests = new Set(
          trace.filter((span) => span.service === "mimi-inbox-ingest").map((span) => span.namespace),
        );
        return (
          ingests.size >= 2 &&
          trace.some((span) => span.service === "mimi-channel-sequencer" && span.scope.endsWith("kafkajs")) &&
          trace.some((span) => span.service === "mimi-delivery-fanout" && span.scope.endsWith("kafkajs"))
        );
      });
      expect(crossing, "a trace through ingest, sequencer and fan-out of two providers").toBeDefined();
      expect(new Set(crossing?.map((span) => span.processId)).size).toBeGreaterThanOrEqual(4);
    }, 30_000);
  },
);
