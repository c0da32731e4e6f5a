import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file is packages/chart-checks/src/tools.ts). */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const chartDir = join(repositoryRoot, "charts", "mimi");
export const kubernetesVersion = process.env.MIMI_KUBERNETES_VERSION ?? "1.34.4";

export interface ChartTools {
  helm: string;
  kubeconform: string;
  /** kubeconform `-schema-location` template of the offline schemas. */
  schemaLocation: string;
}

/**
 * helm, kubeconform and the offline schemas as `scripts/k8s-tools` installs them under .tools/
 * (or from MIMI_HELM / MIMI_KUBECONFORM / MIMI_K8S_SCHEMAS); undefined when any is missing.
 */
export function findChartTools(): ChartTools | undefined {
  const bin = join(repositoryRoot, ".tools", "bin");
  const helm = process.env.MIMI_HELM ?? join(bin, "helm");
  const kubeconform = process.env.MIMI_KUBECONFORM ?? join(bin, "kubeconform");
  const schemas =
    process.env.MIMI_K8S_SCHEMAS ?? join(repositoryRoot, ".tools", "k8s-schemas", `v${kubernetesVersion}`);
  if (
    !existsSync(helm) ||
    !existsSync(kubeconform) ||
    !existsSync(join(schemas, "deployment-apps-v1.json"))
  ) {
    return undefined;
  }
  return { helm, kubeconform, schemaLocation: `${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json` };
}
