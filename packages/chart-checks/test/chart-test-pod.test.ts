import { describe, expect, it } from "vitest";
import { at, objectsOfKind, parseManifests } from "../src/index.ts";
import { render, requiredValues, tools } from "./helm.ts";

describe.skipIf(!tools)("the chart's helm test pod", () => {
  it("outlives its success, so `helm test --logs` can read its log", () => {
    const rendered = render(requiredValues);
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
