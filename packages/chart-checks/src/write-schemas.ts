/**
 * `node --import tsx write-schemas.ts <swagger.json> <out dir>`: writes the kubeconform schemas for
 * every kind of the given Kubernetes OpenAPI spec (run by scripts/k8s-tools).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type JsonValue, kindSchemasFromOpenApi } from "./openapi-schemas.ts";

const [specPath, outDir] = process.argv.slice(2);
if (!specPath || !outDir) {
  process.stderr.write("usage: write-schemas.ts <swagger.json> <out dir>\n");
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, "utf8")) as JsonValue;
const schemas = kindSchemasFromOpenApi(spec);
mkdirSync(outDir, { recursive: true });
for (const { fileName, schema } of schemas) {
  writeFileSync(join(outDir, fileName), JSON.stringify(schema));
}
process.stdout.write(`wrote ${schemas.length} schemas to ${outDir}\n`);
