import { formatNumber } from "./stats.js";

/** A target a figure is held against: `at least` / `at most` a bound (absolute, or a fraction of the reference). */
export interface Target {
  kind: "atLeast" | "atMost";
  /** An absolute bound in the metric's unit, or a fraction of the reference when `ofReference`. */
  bound: number;
  ofReference?: boolean;
}

/** One measured figure, with what it is compared to (a ceiling or baseline measured in the same run). */
export interface Metric {
  scenario: string;
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
  target?: Target;
}

export type Verdict = "met" | "missed" | "-";

export function verdictOf(metric: Metric): Verdict {
  const target = metric.target;
  if (!target) return "-";
  const bound = target.ofReference ? target.bound * (metric.reference?.value ?? Number.NaN) : target.bound;
  if (!Number.isFinite(metric.value) || !Number.isFinite(bound)) return "missed";
  return (target.kind === "atLeast" ? metric.value >= bound : metric.value <= bound) ? "met" : "missed";
}

export function describeTarget(metric: Metric): string {
  const target = metric.target;
  if (!target) return "";
  const sign = target.kind === "atLeast" ? ">=" : "<=";
  if (target.ofReference) return `${sign} ${Math.round(target.bound * 100)}% of reference`;
  return `${sign} ${formatNumber(target.bound)} ${metric.unit}`;
}

/** The value as a percentage of its reference, when both are rates or both are counts. */
export function shareOfReference(metric: Metric): string {
  const reference = metric.reference?.value;
  if (reference === undefined || !Number.isFinite(reference) || reference === 0) return "";
  return `${formatNumber((metric.value / reference) * 100)}%`;
}

export const TABLE_COLUMNS = [
  "scenario",
  "figure",
  "value",
  "unit",
  "reference (same run)",
  "ref value",
  "share",
  "target",
  "verdict",
] as const;

export function tableRows(metrics: readonly Metric[]): string[][] {
  return metrics.map((metric) => [
    metric.scenario,
    metric.name,
    formatNumber(metric.value),
    metric.unit,
    metric.reference?.name ?? "",
    metric.reference ? formatNumber(metric.reference.value) : "",
    shareOfReference(metric),
    describeTarget(metric),
    verdictOf(metric),
  ]);
}

/** A plain-text table: left-aligned text, right-aligned numbers, a rule under the header. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const numeric = header.map((_, column) =>
    rows.every((row) => /^(-?[\d.]+%?|n\/a|)$/.test(row[column] ?? "")),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return numeric[column] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}
