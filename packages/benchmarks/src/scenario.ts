import type { BenchEnvironment } from "./environment.js";
import type { Metric } from "./report.js";

/** What one scenario hands back: its figures, what it ran on, and the raw numbers behind them. */
export interface ScenarioResult {
  metrics: Metric[];
  /** Which backends were used, what was simplified, what was checked. */
  notes: string[];
  details: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  run(environment: BenchEnvironment): Promise<ScenarioResult>;
}
