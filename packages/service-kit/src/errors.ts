import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";

/**
 * Typed errors carry their HTTP meaning; one handler (`problemHandler`) turns them into
 * RFC 9457 `application/problem+json` bodies, so no route formats errors itself.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${title}: ${detail}`);
    this.name = "ProblemError";
  }
}

export const problems = {
  badRequest: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError(400, "Bad Request", detail, extra),
  unauthorized: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError(401, "Unauthorized", detail, extra),
  forbidden: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError(403, "Forbidden", detail, extra),
  notFound: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError(404, "Not Found", detail, extra),
  notAcceptable: (detail: string) => new ProblemError(406, "Not Acceptable", detail),
  conflict: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError(409, "Conflict", detail, extra),
  gone: (detail: string) => new ProblemError(410, "Gone", detail),
  payloadTooLarge: (detail: string) => new ProblemError(413, "Content Too Large", detail),
  unsupportedMediaType: (detail: string) => new ProblemError(415, "Unsupported Media Type", detail),
  unprocessable: (detail: string, extra?: Record<string, unknown>) =>
    new ProblemError(422, "Unprocessable Content", detail, extra),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new ProblemError(429, "Too Many Requests", detail, {}, { "retry-after": String(retryAfterSeconds) }),
  unavailable: (detail: string) => new ProblemError(503, "Service Unavailable", detail),
};

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function sendProblem(res: Response, problem: ProblemError, instance?: string): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(
      JSON.stringify({
        type: "about:blank",
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        ...(instance ? { instance } : {}),
        ...problem.extra,
      }),
    );
}

interface BodyParserError {
  type: string;
  status?: number;
  expose?: boolean;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === "object" && error !== null && "type" in error && typeof error.type === "string";
}

/** Maps anything thrown by a route to a problem document. Unknown errors become a logged 500. */
export function toProblem(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (isBodyParserError(error)) {
    switch (error.type) {
      case "entity.too.large":
        return problems.payloadTooLarge("request body is larger than this endpoint accepts");
      case "entity.parse.failed":
        return problems.badRequest("request body is not valid JSON");
      case "encoding.unsupported":
      case "charset.unsupported":
        return problems.unsupportedMediaType("unsupported content encoding or charset");
      case "request.aborted":
        return problems.badRequest("request was aborted by the client");
      default:
        if (error.expose && error.status && error.status >= 400 && error.status < 500) {
          return new ProblemError(error.status, "Bad Request", "malformed request");
        }
    }
  }
  return undefined;
}

/** PostgreSQL SQLSTATEs that mean "the database is not reachable right now", not "your request is bad". */
const UNAVAILABLE_SQLSTATES = new Set([
  "08000", // connection_exception
  "08001", // sqlclient_unable_to_establish_sqlconnection
  "08003", // connection_does_not_exist
  "08004", // sqlserver_rejected_establishment_of_sqlconnection
  "08006", // connection_failure
  "53300", // too_many_connections
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);
const UNAVAILABLE_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
/** node-postgres says so in words when a pooled connection dies under a query. */
const UNAVAILABLE_MESSAGE =
  /connection terminated|connection timeout|client has encountered a connection error/i;

/**
 * Whether an error (or one of its causes) says a backing service (the database, most often) cannot
 * be reached for now. Such a failure is the client's to retry, so it is answered 503 with
 * `Retry-After` rather than 500, which reads as "this request is broken".
 */
export function isDependencyUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)))
      return true;
    if (UNAVAILABLE_MESSAGE.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const problem = toProblem(error);
    if (problem) {
      if (problem.status >= 500) logger.error({ err: error, path: req.path }, "request failed");
      sendProblem(res, problem, req.originalUrl);
      return;
    }
    if (isDependencyUnavailable(error)) {
      logger.warn({ err: error, method: req.method, path: req.path }, "a backing service is unavailable");
      sendProblem(
        res,
        new ProblemError(
          503,
          "Service Unavailable",
          "a service this request needs is unavailable for now; retry later",
          { reason: "dependencyUnavailable" },
          { "retry-after": "5" },
        ),
        req.originalUrl,
      );
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, "unhandled error");
    sendProblem(
      res,
      new ProblemError(500, "Internal Server Error", "the server failed to handle this request"),
    );
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, problems.notFound(`no resource at ${req.path}`), req.originalUrl);
};
