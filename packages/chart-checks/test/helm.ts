import { execFileSync, spawnSync } from "node:child_process";
import { chartDir, findChartTools, kubernetesVersion } from "../src/index.ts";

export const tools = findChartTools();

/** The values the chart refuses to render without. */
export const requiredValues = [
  "--set",
  "domain=example.test",
  "--set",
  "existingSecret=mimi-secrets",
  "--set",
  "kafka.brokers[0]=kafka:9092",
];

/** Runs helm in the chart's folder; its status and everything it printed. */
export function helm(args: string[]): { status: number; output: string } {
  const result = spawnSync(tools?.helm ?? "helm", args, { cwd: chartDir, encoding: "utf8" });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/** `helm template` of release `rel` with `values`, run as `helm` runs it (refusals included). */
export function template(values: string[]): { status: number; output: string } {
  return helm(["template", "rel", chartDir, "--kube-version", kubernetesVersion, ...values]);
}

/** The manifests `helm template` renders with `values`; throws when helm refuses. */
export function render(values: string[]): string {
  return execFileSync(
    tools?.helm ?? "helm",
    ["template", "rel", chartDir, "--kube-version", kubernetesVersion, ...values],
    { encoding: "utf8" },
  );
}
