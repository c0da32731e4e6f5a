import { parseAllDocuments } from "yaml";

/** A rendered Kubernetes object, loosely typed: checks read it with the accessors below. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Every object of a multi-document YAML stream (as `helm template` prints), skipping empty documents. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value) || typeof value.kind !== "string" || typeof value.apiVersion !== "string") {
      throw new Error("a document is not a Kubernetes object (no kind/apiVersion)");
    }
    objects.push(value as K8sObject);
  }
  return objects;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at a dotted path (`spec.template.spec`), or undefined when any step is missing. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)];
    else if (isRecord(current)) current = current[key];
    else return undefined;
  }
  return current;
}

export function objectsOfKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

/** The one object of a kind with this component label; throws naming what is missing. */
export function componentObject(objects: K8sObject[], kind: string, component: string): K8sObject {
  const matching = objects.filter(
    (object) => object.kind === kind && object.metadata.labels?.["app.kubernetes.io/component"] === component,
  );
  if (matching.length !== 1)
    throw new Error(`expected one ${kind} for ${component}, found ${matching.length}`);
  return matching[0] as K8sObject;
}

/** Whether every label of `selector` is carried by `labels`. */
export function selects(selector: unknown, labels: unknown): boolean {
  if (!isRecord(selector) || !isRecord(labels) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}
