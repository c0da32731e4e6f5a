import { ProblemError } from "@mimi/service-kit";

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  503: "Service Unavailable",
};

/**
 * A problem+json answer that names a machine-readable `reason` beside the human `detail`; the reason
 * also labels the rejection metric.
 */
export function rejection(
  status: number,
  reason: string,
  detail: string,
  options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
): ProblemError {
  return new ProblemError(
    status,
    titles[status] ?? "Error",
    detail,
    { reason, ...options.extra },
    options.headers,
  );
}

/** The reason of a rejection thrown by this service; the status for anything else. */
export function reasonOf(error: unknown): string {
  if (error instanceof ProblemError) {
    const reason = error.extra.reason;
    return typeof reason === "string" ? reason : `status${error.status}`;
  }
  return "internalError";
}
