/**
 * Turns the Kubernetes OpenAPI v2 spec (`api/openapi-spec/swagger.json` of k8s.io/kubernetes) into the
 * standalone, strict JSON schemas kubeconform reads: one file per kind and API version, every `$ref`
 * inlined, `additionalProperties: false` on every object that lists its properties, and `apiVersion`/
 * `kind` pinned. The file names follow kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}` template.
 * CustomResourceDefinitions (the Prometheus Operator's ServiceMonitor) are converted the same way.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface KindSchema {
  fileName: string;
  gvk: GroupVersionKind;
  schema: JsonObject;
}

const DEFINITION_PREFIX = "#/definitions/";

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `apps/v1` style apiVersion; the core group has none. */
export function apiVersionOf(gvk: GroupVersionKind): string {
  return gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/**
 * kubeconform's KindSuffix: `-<first label of the group>-<version>` (`-apps-v1`,
 * `-networking-v1` for networking.k8s.io), or `-<version>` for the core group.
 */
export function schemaFileName(gvk: GroupVersionKind): string {
  const groupLabel = gvk.group.split(".")[0] ?? "";
  const suffix = gvk.group === "" ? `-${gvk.version}` : `-${groupLabel}-${gvk.version}`;
  return `${gvk.kind.toLowerCase()}${suffix.toLowerCase()}.json`;
}

function groupVersionKindsOf(definition: JsonObject): GroupVersionKind[] {
  const entries = definition["x-kubernetes-group-version-kind"];
  if (!Array.isArray(entries)) return [];
  const result: GroupVersionKind[] = [];
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const { group, version, kind } = entry;
    if (typeof group === "string" && typeof version === "string" && typeof kind === "string") {
      result.push({ group, version, kind });
    }
  }
  return result;
}

/**
 * Rewrites one schema node: inlines references (a reference already being expanded higher up, as in
 * the recursive JSONSchemaProps, becomes an open schema), makes objects with properties strict and
 * widens `int-or-string` fields, which the spec types as strings, to accept integers.
 */
function expand(node: JsonValue, definitions: JsonObject, expanding: ReadonlySet<string>): JsonValue {
  if (Array.isArray(node)) return node.map((item) => expand(item, definitions, expanding));
  if (!isObject(node)) return node;

  const ref = node.$ref;
  if (typeof ref === "string" && ref.startsWith(DEFINITION_PREFIX)) {
    const name = ref.slice(DEFINITION_PREFIX.length);
    const target = definitions[name];
    if (!isObject(target) || expanding.has(name)) return {};
    const { $ref: _ref, ...siblings } = node;
    const inlined = expand(target, definitions, new Set([...expanding, name]));
    return isObject(inlined) ? { ...inlined, ...siblings } : inlined;
  }

  const result: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    // Descriptions make up most of the spec's size and play no part in validation.
    if (key === "description") continue;
    // Property names and enum values are data, not schema keywords: only their values are schemas.
    if (key === "properties" && isObject(value)) {
      const properties: JsonObject = {};
      for (const [name, schema] of Object.entries(value))
        properties[name] = expand(schema, definitions, expanding);
      result[key] = properties;
    } else if (key === "enum" || key === "required" || key === "example") {
      result[key] = value;
    } else {
      result[key] = expand(value, definitions, expanding);
    }
  }
  if (result.format === "int-or-string" || result["x-kubernetes-int-or-string"] === true) {
    delete result.type;
    delete result.format;
    delete result.anyOf;
    result.oneOf = [{ type: "string" }, { type: "integer" }];
  }
  const keepsUnknownFields = result["x-kubernetes-preserve-unknown-fields"] === true;
  if (isObject(result.properties) && result.additionalProperties === undefined && !keepsUnknownFields) {
    result.additionalProperties = false;
  }
  return result;
}

/** Every kind the spec defines, as kubeconform schemas. Definitions naming several kinds (options) are skipped. */
export function kindSchemasFromOpenApi(spec: JsonValue): KindSchema[] {
  if (!isObject(spec) || !isObject(spec.definitions)) {
    throw new Error("not an OpenAPI v2 document: no definitions");
  }
  const definitions = spec.definitions;
  const schemas: KindSchema[] = [];
  for (const [name, definition] of Object.entries(definitions)) {
    if (!isObject(definition)) continue;
    const kinds = groupVersionKindsOf(definition);
    const gvk = kinds[0];
    if (kinds.length !== 1 || gvk === undefined) continue;
    const expanded = expand(definition, definitions, new Set([name]));
    if (!isObject(expanded)) continue;
    const properties = isObject(expanded.properties) ? expanded.properties : {};
    properties.apiVersion = { type: "string", enum: [apiVersionOf(gvk)] };
    properties.kind = { type: "string", enum: [gvk.kind] };
    expanded.properties = properties;
    expanded.$schema = "http://json-schema.org/schema#";
    schemas.push({ fileName: schemaFileName(gvk), gvk, schema: expanded });
  }
  return schemas;
}

/** The kinds a CustomResourceDefinition serves, one schema per version that has an OpenAPI schema. */
export function kindSchemasFromCrd(crd: JsonValue): KindSchema[] {
  if (!isObject(crd) || crd.kind !== "CustomResourceDefinition" || !isObject(crd.spec)) {
    throw new Error("not a CustomResourceDefinition");
  }
  const { group, names, versions } = crd.spec;
  if (
    typeof group !== "string" ||
    !isObject(names) ||
    typeof names.kind !== "string" ||
    !Array.isArray(versions)
  ) {
    throw new Error("CustomResourceDefinition without group, kind or versions");
  }
  const schemas: KindSchema[] = [];
  for (const version of versions) {
    if (!isObject(version) || typeof version.name !== "string" || !isObject(version.schema)) continue;
    const openApi = version.schema.openAPIV3Schema;
    if (!isObject(openApi)) continue;
    const gvk = { group, version: version.name, kind: names.kind };
    const expanded = expand(openApi, {}, new Set());
    if (!isObject(expanded)) continue;
    const properties = isObject(expanded.properties) ? expanded.properties : {};
    properties.apiVersion = { type: "string", enum: [apiVersionOf(gvk)] };
    properties.kind = { type: "string", enum: [gvk.kind] };
    // Every object carries metadata; CRD schemas leave it open, as the API server does.
    properties.metadata = { type: "object" };
    expanded.properties = properties;
    expanded.$schema = "http://json-schema.org/schema#";
    schemas.push({ fileName: schemaFileName(gvk), gvk, schema: expanded });
  }
  return schemas;
}
