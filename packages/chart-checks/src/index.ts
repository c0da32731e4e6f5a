export {
  type IngressPath,
  ingressPaths,
  nginxRegexMatches,
  overlappingPaths,
  prefixMatches,
  type RoutingMode,
  routeRequest,
} from "./ingress-routes.ts";
export {
  at,
  componentObject,
  isRecord,
  type K8sObject,
  objectsOfKind,
  parseManifests,
  selects,
} from "./manifests.ts";
export {
  apiVersionOf,
  type GroupVersionKind,
  type JsonObject,
  type JsonValue,
  type KindSchema,
  kindSchemasFromCrd,
  kindSchemasFromOpenApi,
  schemaFileName,
} from "./openapi-schemas.ts";
export {
  envNamesIn,
  envNamesReadBy,
  routesIn,
  routesOf,
  type ServiceName,
  type ServiceRoute,
  samplePath,
  serviceNames,
} from "./service-sources.ts";
export { type ChartTools, chartDir, findChartTools, kubernetesVersion, repositoryRoot } from "./tools.ts";
