/**
 * Runs the benchmark scenarios in sequence, prints one table and writes `.bench-results/latest.json`
 * (plus a time-stamped copy). `BENCH_ONLY=inbound,claims` picks scenarios; see README.md for the rest.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Metric,
  readBenchEnvironment,
  renderTable,
  type Scenario,
  TABLE_COLUMNS,
  tableRows,
  verdictOf,
} from "../src/index.js";
import { claimsScenario } from "./claims.js";
import { devicesScenario } from "./devices.js";
import { endToEndScenario } from "./end-to-end.js";
import { fanoutScenario } from "./fanout.js";
import { inboundScenario } from "./inbound.js";
import { mlsScenario } from "./mls.js";
import { outboundScenario } from "./outbound.js";
import { sequencerScenario } from "./sequencer.js";
import { signaturesScenario } from "./signatures.js";

const scenarios: Scenario[] = [
  inboundScenario,
  outboundScenario,
  signaturesScenario,
  endToEndScenario,
  fanoutScenario,
  claimsScenario,
  sequencerScenario,
  mlsScenario,
  devicesScenario,
];

const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const selected = only ? scenarios.filter((scenario) => only.includes(scenario.name)) : scenarios;
const environment = readBenchEnvironment();
const startedAt = new Date();
const backends = [
  `database: ${environment.databaseUrl ? "PostgreSQL (DATABASE_URL)" : "PGlite in memory (DATABASE_URL unset)"}`,
  `bus: ${environment.kafkaBrokers ? "Kafka (KAFKA_BROKERS)" : "in-process (KAFKA_BROKERS unset)"}`,
  `claims: ${environment.redisUrl ? "Redis (REDIS_URL)" : "in memory (REDIS_URL unset)"}`,
];
console.log(
  `mimi benchmarks, ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.log(backends.join("; "));

const metrics: Metric[] = [];
const results: Record<string, unknown> = {};
for (const scenario of selected) {
  const begun = performance.now();
  process.stdout.write(`\n== ${scenario.name} ... `);
  try {
    const result = await scenario.run(environment);
    const seconds = (performance.now() - begun) / 1000;
    console.log(`done in ${seconds.toFixed(1)} s`);
    for (const note of result.notes) console.log(`   ${note}`);
    metrics.push(...result.metrics);
    results[scenario.name] = { seconds, notes: result.notes, details: result.details };
  } catch (error) {
    const seconds = (performance.now() - begun) / 1000;
    console.log(
      `FAILED after ${seconds.toFixed(1)} s: ${error instanceof Error ? error.stack : String(error)}`,
    );
    results[scenario.name] = { seconds, error: error instanceof Error ? error.message : String(error) };
  }
}

console.log("");
console.log(renderTable(TABLE_COLUMNS, tableRows(metrics)));
const missed = metrics.filter((metric) => verdictOf(metric) === "missed");
console.log(
  `\n${metrics.filter((metric) => metric.target).length - missed.length} targets met, ${missed.length} missed`,
);

const report = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, loadAverage: loadavg(), node: process.version },
  backends,
  metrics: metrics.map((metric) => ({ ...metric, verdict: verdictOf(metric) })),
  scenarios: results,
};
const outputDir = join(dirname(fileURLToPath(import.meta.url)), "..", ".bench-results");
mkdirSync(outputDir, { recursive: true });
const json = `${JSON.stringify(report, null, 2)}\n`;
writeFileSync(join(outputDir, "latest.json"), json);
writeFileSync(join(outputDir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`), json);
console.log(`results: ${join(outputDir, "latest.json")}`);
// Kafka and database clients may keep timers alive after their close; the run is over.
process.exit(0);
