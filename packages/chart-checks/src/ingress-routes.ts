import { at, isRecord, type K8sObject } from "./manifests.ts";

/** One path of one Ingress rule. */
export interface IngressPath {
  host: string;
  path: string;
  pathType: "Exact" | "Prefix" | "ImplementationSpecific";
  serviceName: string;
}

export function ingressPaths(ingress: K8sObject): IngressPath[] {
  const result: IngressPath[] = [];
  const rules = at(ingress, "spec.rules");
  if (!Array.isArray(rules)) return result;
  for (const rule of rules) {
    const host = isRecord(rule) && typeof rule.host === "string" ? rule.host : "";
    const paths = at(rule, "http.paths");
    if (!Array.isArray(paths)) continue;
    for (const entry of paths) {
      const path = at(entry, "path");
      const pathType = at(entry, "pathType");
      const serviceName = at(entry, "backend.service.name");
      if (typeof path !== "string" || typeof serviceName !== "string") continue;
      if (pathType !== "Exact" && pathType !== "Prefix" && pathType !== "ImplementationSpecific") continue;
      result.push({ host, path, pathType, serviceName });
    }
  }
  return result;
}

/** Kubernetes Prefix semantics: element-wise, `/api` matches `/api` and `/api/x`, never `/apix`. */
export function prefixMatches(prefix: string, requestPath: string): boolean {
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed === "") return true;
  return requestPath === trimmed || requestPath.startsWith(`${trimmed}/`);
}

/** How ingress-nginx matches a path once `use-regex` is on: a case-insensitive regex anchored at the start. */
export function nginxRegexMatches(path: string, requestPath: string): boolean {
  return new RegExp(`^${path}`, "i").test(requestPath);
}

export type RoutingMode = "standard" | "nginx-regex";

/**
 * The path an Ingress controller picks for a request. `standard`: Exact, then the longest Prefix
 * (ImplementationSpecific paths are controller-defined and never match). `nginx-regex` (ingress-nginx
 * with `use-regex`): Exact, then every other path as a regex, longest path first, as ingress-nginx
 * orders its locations.
 */
export function routeRequest(
  paths: IngressPath[],
  host: string,
  requestPath: string,
  mode: RoutingMode,
): IngressPath | undefined {
  const candidates = paths.filter((path) => path.host === host);
  const exact = candidates.find((path) => path.pathType === "Exact" && path.path === requestPath);
  if (exact) return exact;
  const others = candidates
    .filter((path) => path.pathType !== "Exact")
    .sort((left, right) => right.path.length - left.path.length);
  if (mode === "nginx-regex") return others.find((path) => nginxRegexMatches(path.path, requestPath));
  return others.find((path) => path.pathType === "Prefix" && prefixMatches(path.path, requestPath));
}

/** Non-Exact paths that match a request as regexes: more than one means the answer depends on order. */
export function overlappingPaths(paths: IngressPath[], host: string, requestPath: string): IngressPath[] {
  return paths.filter(
    (path) => path.host === host && path.pathType !== "Exact" && nginxRegexMatches(path.path, requestPath),
  );
}
