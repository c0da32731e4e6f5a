import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  at,
  chartDir,
  findChartTools,
  kubernetesVersion,
  objectsOfKind,
  parseManifests,
} from "../src/index.ts";

const tools = findChartTools();

describe.skipIf(!tools)("the chart's helm test pod", () => {
  it("outlives its success, so `helm test --logs` can read its log", () => {
    const rendered = execFileSync(
      tools?.helm ?? "helm",
      [
        "template",
        "rel",
        chartDir,
        "--kube-version",
        kubernetesVersion,
        "--set",
        "domain=example.test",
        "--set",
        "existingSecret=mimi-secrets",
        "--set",
        "kafka.brokers[0]=kafka:9092",
      ],
      { encoding: "utf8" },
    );
    const annotations = (pod: unknown) => (at(pod, "metadata.annotations") ?? {}) as Record<string, string>;
    const testPods = objectsOfKind(parseManifests(rendered), "Pod").filter(
      (pod) => annotations(pod)["helm.sh/hook"] === "test",
    );
    expect(testPods).toHaveLength(1);
    const policy = annotations(testPods[0])["helm.sh/hook-delete-policy"] ?? "";
    expect(policy.split(",")).toContain("before-hook-creation");
    expect(policy.split(",")).not.toContain("hook-succeeded");
  });
});
