import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "./tools.ts";

export const serviceNames = [
  "identity",
  "keypackage-directory",
  "channel-sequencer",
  "inbox-ingest",
  "delivery-fanout",
] as const;
export type ServiceName = (typeof serviceNames)[number];

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) files.push(path);
  }
  return files;
}

/** Environment variable names a piece of source reads: config specs (`env: "X"`) and `process.env.X`. */
export function envNamesIn(source: string): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\benv:\s*"([A-Z][A-Z0-9_]*)"/g,
    /process\.env\.([A-Z][A-Z0-9_]*)/g,
    /process\.env\["([A-Z][A-Z0-9_]*)"\]/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) names.add(match[1] as string);
  return names;
}

/** Services that open the bus with `openServiceBus`, which reads the bus's own settings. */
const busServices: readonly ServiceName[] = ["channel-sequencer", "inbox-ingest", "delivery-fanout"];

/** The rate-limit store's settings (`REDIS_URL`, its key prefix), spread into a service's config spec. */
const rateLimitStoreSpecFile = join(repositoryRoot, "packages", "rate-limits", "src", "service.ts");

/** Every variable a service's process reads at boot: the shared provider settings plus its own. */
export function envNamesReadBy(service: ServiceName): Set<string> {
  const names = new Set<string>();
  const serviceDir = join(repositoryRoot, "services", service, "src");
  const dirs = [
    join(repositoryRoot, "packages", "provider-config", "src"),
    serviceDir,
    ...(busServices.includes(service) ? [join(repositoryRoot, "packages", "bus", "src", "open.ts")] : []),
    ...(sourceFiles(serviceDir).some((file) =>
      readFileSync(file, "utf8").includes("rateLimitStoreConfigSpec"),
    )
      ? [rateLimitStoreSpecFile]
      : []),
  ];
  for (const dir of dirs) {
    for (const file of dir.endsWith(".ts") ? [dir] : sourceFiles(dir))
      for (const name of envNamesIn(readFileSync(file, "utf8"))) names.add(name);
  }
  return names;
}

export interface ServiceRoute {
  method: string;
  path: string;
}

/** Express routes in source: `.get("/path"`, `.post("/path"`, ... */
export function routesIn(source: string): ServiceRoute[] {
  const routes: ServiceRoute[] = [];
  for (const match of source.matchAll(/\.(get|post|put|patch|delete)\(\s*"(\/[^"]*)"/g)) {
    routes.push({ method: (match[1] as string).toUpperCase(), path: match[2] as string });
  }
  return routes;
}

/** The public routes a service's routers declare. */
export function routesOf(service: ServiceName): ServiceRoute[] {
  const routes: ServiceRoute[] = [];
  for (const file of sourceFiles(join(repositoryRoot, "services", service, "src"))) {
    routes.push(...routesIn(readFileSync(file, "utf8")));
  }
  return routes;
}

/** A concrete request path for a route pattern: `:username` -> `alice`, `:id` -> a channel-like id. */
export function samplePath(pattern: string): string {
  return pattern.replace(/:([A-Za-z]+)/g, (_whole, name: string) =>
    name === "username" ? "alice" : name === "clientId" ? "c-1" : "AbC_12-xY",
  );
}
