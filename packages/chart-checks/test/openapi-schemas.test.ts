import { describe, expect, it } from "vitest";
import { type JsonObject, kindSchemasFromCrd, kindSchemasFromOpenApi, schemaFileName } from "../src/index.ts";

const spec = {
  definitions: {
    "io.k8s.api.apps.v1.Deployment": {
      description: "dropped",
      properties: {
        metadata: { $ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" },
        spec: { properties: { maxSurge: { format: "int-or-string", type: "string" } } },
      },
      "x-kubernetes-group-version-kind": [{ group: "apps", version: "v1", kind: "Deployment" }],
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": { properties: { name: { type: "string" } } },
    "io.example.Node": {
      properties: { child: { $ref: "#/definitions/io.example.Node" } },
      "x-kubernetes-group-version-kind": [{ group: "example.io", version: "v1", kind: "Node" }],
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": {
      properties: {},
      "x-kubernetes-group-version-kind": [
        { group: "", version: "v1", kind: "DeleteOptions" },
        { group: "apps", version: "v1", kind: "DeleteOptions" },
      ],
    },
  },
};

describe("kindSchemasFromOpenApi", () => {
  const schemas = kindSchemasFromOpenApi(spec);
  const deployment = schemas.find((schema) => schema.gvk.kind === "Deployment")?.schema as JsonObject;

  it("names files as kubeconform's {{ .ResourceKind }}{{ .KindSuffix }} expects", () => {
    expect(schemaFileName({ group: "apps", version: "v1", kind: "Deployment" })).toBe(
      "deployment-apps-v1.json",
    );
    expect(schemaFileName({ group: "", version: "v1", kind: "ServiceAccount" })).toBe(
      "serviceaccount-v1.json",
    );
    expect(schemaFileName({ group: "networking.k8s.io", version: "v1", kind: "Ingress" })).toBe(
      "ingress-networking-v1.json",
    );
    expect(schemaFileName({ group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler" })).toBe(
      "horizontalpodautoscaler-autoscaling-v2.json",
    );
  });

  it("inlines references, makes objects strict and pins apiVersion and kind", () => {
    expect(deployment.additionalProperties).toBe(false);
    expect(deployment.description).toBeUndefined();
    const properties = deployment.properties as JsonObject;
    expect(properties.metadata).toEqual({
      properties: { name: { type: "string" } },
      additionalProperties: false,
    });
    expect(properties.apiVersion).toEqual({ type: "string", enum: ["apps/v1"] });
    expect(properties.kind).toEqual({ type: "string", enum: ["Deployment"] });
  });

  it("accepts integers and strings for int-or-string fields", () => {
    const spec = (deployment.properties as JsonObject).spec as JsonObject;
    expect((spec.properties as JsonObject).maxSurge).toEqual({
      oneOf: [{ type: "string" }, { type: "integer" }],
    });
  });

  it("cuts recursive references and skips definitions shared by several kinds", () => {
    const node = schemas.find((schema) => schema.gvk.kind === "Node")?.schema as JsonObject;
    expect((node.properties as JsonObject).child).toEqual({});
    expect(schemas.some((schema) => schema.gvk.kind === "DeleteOptions")).toBe(false);
  });

  it("refuses a document without definitions", () => {
    expect(() => kindSchemasFromOpenApi({ swagger: "2.0" })).toThrow(/no definitions/);
  });
});

describe("kindSchemasFromCrd", () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    spec: {
      group: "monitoring.coreos.com",
      names: { kind: "ServiceMonitor" },
      versions: [
        {
          name: "v1",
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: {
                    port: {
                      "x-kubernetes-int-or-string": true,
                      anyOf: [{ type: "integer" }, { type: "string" }],
                    },
                    free: {
                      type: "object",
                      properties: { a: { type: "string" } },
                      "x-kubernetes-preserve-unknown-fields": true,
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };

  it("converts each served version, strict except where unknown fields are preserved", () => {
    const schemas = kindSchemasFromCrd(crd);
    expect(schemas.map((schema) => schema.fileName)).toEqual(["servicemonitor-monitoring-v1.json"]);
    const root = schemas[0]?.schema.properties as JsonObject;
    const spec = root.spec as JsonObject;
    expect(spec.additionalProperties).toBe(false);
    const properties = spec.properties as JsonObject;
    expect(properties.port).toEqual({
      "x-kubernetes-int-or-string": true,
      oneOf: [{ type: "string" }, { type: "integer" }],
    });
    expect((properties.free as JsonObject).additionalProperties).toBeUndefined();
  });

  it("refuses other documents", () => {
    expect(() => kindSchemasFromCrd({ kind: "Deployment" })).toThrow(/not a CustomResourceDefinition/);
  });
});
