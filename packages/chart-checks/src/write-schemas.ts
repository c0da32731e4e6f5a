/**
 * `node --import tsx write-schemas.ts <out dir> <swagger.json> [crd.yaml...]`: writes the kubeconform
 * schemas for every kind of the Kubernetes OpenAPI spec and of the given CustomResourceDefinitions
 * (run by scripts/k8s-tools).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { type JsonValue, kindSchemasFromCrd, kindSchemasFromOpenApi } from "./openapi-schemas.ts";

const [outDir, specPath, ...crdPaths] = process.argv.slice(2);
if (!outDir || !specPath) {
  process.stderr.write("usage: write-schemas.ts <out dir> <swagger.json> [crd.yaml...]\n");
  process.exit(2);
}
const schemas = kindSchemasFromOpenApi(JSON.parse(readFileSync(specPath, "utf8")) as JsonValue);
for (const crdPath of crdPaths) {
  schemas.push(...kindSchemasFromCrd(parse(readFileSync(crdPath, "utf8")) as JsonValue));
}
mkdirSync(outDir, { recursive: true });
for (const { fileName, schema } of schemas) {
  writeFileSync(join(outDir, fileName), JSON.stringify(schema));
}
process.stdout.write(`wrote ${schemas.length} schemas to ${outDir}\n`);
