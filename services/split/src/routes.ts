/**
 * The public routing table of a split provider: which of the five services answers a request, by method
 * and path. It mirrors the Kubernetes ingress of charts/mimi (same paths, same services); where a path
 * is shared, the method decides, as the ingress cannot (see docs/decisions.md, "Mailbox paths").
 */

export const SERVICES = [
  "identity",
  "keypackage-directory",
  "inbox-ingest",
  "channel-sequencer",
  "delivery-fanout",
] as const;

export type ServiceName = (typeof SERVICES)[number];

interface Route {
  /** Methods it applies to; undefined means any. */
  methods?: readonly string[];
  path: RegExp;
  service: ServiceName;
}

const SEGMENT = "[^/]+";

/** Checked in order; the first match wins. Paths are matched without their query string. */
const ROUTES: readonly Route[] = [
  { path: /^\/\.well-known\/(webfinger|nodeinfo|mimi-configuration)$/, service: "identity" },
  { path: /^\/nodeinfo(\/.*)?$/, service: "identity" },
  { path: /^\/actor$/, service: "identity" },
  { path: /^\/api\/v1\/(accounts|tokens|me|clients|admin)(\/.*)?$/, service: "identity" },
  { path: /^\/api\/v1\/keypackages(\/.*)?$/, service: "keypackage-directory" },
  { path: /^\/api\/v1\/channels(\/.*)?$/, service: "channel-sequencer" },
  { path: /^\/api\/v1\/mailbox(\/.*)?$/, service: "delivery-fanout" },
  { methods: ["POST"], path: /^\/inbox$/, service: "inbox-ingest" },
  { methods: ["POST"], path: new RegExp(`^/users/${SEGMENT}/(inbox|outbox)$`), service: "inbox-ingest" },
  { methods: ["POST"], path: new RegExp(`^/channels/${SEGMENT}/inbox$`), service: "inbox-ingest" },
  // The mailbox (GET) shares its path with the ActivityPub inbox (POST).
  {
    methods: ["GET", "HEAD"],
    path: new RegExp(`^/users/${SEGMENT}/inbox(/.*)?$`),
    service: "delivery-fanout",
  },
  { path: new RegExp(`^/users/${SEGMENT}/keyPackages(/claim)?$`), service: "keypackage-directory" },
  { path: new RegExp(`^/users/${SEGMENT}/?$`), service: "identity" },
  { path: new RegExp(`^/@${SEGMENT}$`), service: "identity" },
  {
    methods: ["GET", "HEAD"],
    path: new RegExp(`^/channels/${SEGMENT}(/(followers|groupInfo|log))?/?$`),
    service: "channel-sequencer",
  },
];

/** The service answering `method path`, or undefined when the path is not public (404 at the front). */
export function routeFor(method: string, pathWithQuery: string): ServiceName | undefined {
  const path = pathWithQuery.split("?", 1)[0] ?? "";
  const upper = method.toUpperCase();
  for (const route of ROUTES) {
    if (route.methods && !route.methods.includes(upper)) continue;
    if (route.path.test(path)) return route.service;
  }
  return undefined;
}
