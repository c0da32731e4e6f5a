import { describe, expect, it } from "vitest";
import { type IngressPath, overlappingPaths, prefixMatches, routeRequest } from "../src/index.ts";

const paths: IngressPath[] = [
  { host: "h", path: "/inbox", pathType: "Exact", serviceName: "ingest" },
  { host: "h", path: "/api/v1/me", pathType: "Prefix", serviceName: "identity" },
  { host: "h", path: "/api", pathType: "Prefix", serviceName: "api" },
  { host: "h", path: "/users/[^/]+/?$", pathType: "ImplementationSpecific", serviceName: "identity" },
  { host: "h", path: "/users/[^/]+/inbox$", pathType: "ImplementationSpecific", serviceName: "ingest" },
  { host: "other", path: "/inbox", pathType: "Exact", serviceName: "elsewhere" },
];

describe("prefixMatches", () => {
  it("matches whole path elements only", () => {
    expect(prefixMatches("/api", "/api")).toBe(true);
    expect(prefixMatches("/api", "/api/v1")).toBe(true);
    expect(prefixMatches("/api/", "/api/v1")).toBe(true);
    expect(prefixMatches("/api", "/apis")).toBe(false);
  });
});

describe("routeRequest", () => {
  it("prefers Exact, then the longest Prefix, per host", () => {
    expect(routeRequest(paths, "h", "/inbox", "standard")?.serviceName).toBe("ingest");
    expect(routeRequest(paths, "other", "/inbox", "standard")?.serviceName).toBe("elsewhere");
    expect(routeRequest(paths, "h", "/api/v1/me", "standard")?.serviceName).toBe("identity");
    expect(routeRequest(paths, "h", "/api/v1/other", "standard")?.serviceName).toBe("api");
    expect(routeRequest(paths, "h", "/inbox/x", "standard")).toBeUndefined();
  });

  it("ignores regex paths in standard mode and uses them with nginx regexes", () => {
    expect(routeRequest(paths, "h", "/users/alice", "standard")).toBeUndefined();
    expect(routeRequest(paths, "h", "/users/alice", "nginx-regex")?.serviceName).toBe("identity");
    expect(routeRequest(paths, "h", "/users/alice/inbox", "nginx-regex")?.serviceName).toBe("ingest");
    expect(routeRequest(paths, "h", "/users/alice/unknown", "nginx-regex")).toBeUndefined();
  });

  it("reports paths whose regexes overlap", () => {
    expect(overlappingPaths(paths, "h", "/api/v1/me").map((path) => path.serviceName)).toEqual([
      "identity",
      "api",
    ]);
    expect(overlappingPaths(paths, "h", "/users/alice/inbox")).toHaveLength(1);
  });
});
