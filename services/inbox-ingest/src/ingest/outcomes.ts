import type { Metrics } from "@mimi/service-kit";

export type IngestRoute = "userInbox" | "channelInbox" | "sharedInbox" | "outbox";

/** Counts every request by route and outcome; rejections and drops also by reason. */
export interface IngestOutcomes {
  accepted(route: IngestRoute): void;
  duplicate(route: IngestRoute): void;
  dropped(route: IngestRoute, reason: string): void;
  rejected(route: IngestRoute, reason: string): void;
}

export function createIngestOutcomes(metrics: Metrics): IngestOutcomes {
  const counter = metrics.counter(
    "inbox_ingest_requests_total",
    "inbox and outbox POSTs by route and outcome (accepted, duplicate, dropped, rejected) and reason",
    ["route", "outcome", "reason"],
  );
  return {
    accepted: (route) => counter.inc({ route, outcome: "accepted", reason: "" }),
    duplicate: (route) => counter.inc({ route, outcome: "duplicate", reason: "" }),
    dropped: (route, reason) => counter.inc({ route, outcome: "dropped", reason }),
    rejected: (route, reason) => counter.inc({ route, outcome: "rejected", reason }),
  };
}
