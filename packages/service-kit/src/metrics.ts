import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** One registry per process, shared by every service mounted in it. */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<"method" | "route" | "status">;
  counter(name: string, help: string, labelNames?: string[]): Counter<string>;
  histogram(name: string, help: string, labelNames?: string[], buckets?: number[]): Histogram<string>;
  /** A value that goes up and down (how many consumers are down, say); one per name, as the others. */
  gauge(name: string, help: string, labelNames?: string[]): Gauge<string>;
}

export function createMetrics(options: { prefix?: string; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const prefix = options.prefix ?? "mimi_";
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix });
  const counters = new Map<string, Counter<string>>();
  const histograms = new Map<string, Histogram<string>>();
  const gauges = new Map<string, Gauge<string>>();
  const httpRequestDuration = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return {
    registry,
    httpRequestDuration,
    counter(name, help, labelNames = []) {
      const full = `${prefix}${name}`;
      let counter = counters.get(full);
      if (!counter) {
        counter = new Counter({ name: full, help, labelNames, registers: [registry] });
        counters.set(full, counter);
      }
      return counter;
    },
    histogram(name, help, labelNames = [], buckets) {
      const full = `${prefix}${name}`;
      let histogram = histograms.get(full);
      if (!histogram) {
        histogram = new Histogram({
          name: full,
          help,
          labelNames,
          registers: [registry],
          ...(buckets ? { buckets } : {}),
        });
        histograms.set(full, histogram);
      }
      return histogram;
    },
    gauge(name, help, labelNames = []) {
      const full = `${prefix}${name}`;
      let gauge = gauges.get(full);
      if (!gauge) {
        gauge = new Gauge({ name: full, help, labelNames, registers: [registry] });
        gauges.set(full, gauge);
      }
      return gauge;
    },
  };
}
