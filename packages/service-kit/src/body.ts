import express, { type RequestHandler } from "express";
import type { z } from "zod";
import { problems } from "./errors.js";
import { DEFAULT_JSON_MAX_DEPTH, exceedsJsonDepth } from "./json-depth.js";

/**
 * Parses a JSON body after checking its media type, so a wrong Content-Type is a 415 rather
 * than a confusing "missing field" 400. A body nesting objects or arrays deeper than `maxDepth`
 * (64 by default) is refused 400 `jsonTooDeep` before it is parsed.
 */
export function jsonBody(options: {
  limit: string | number;
  accept?: (contentType: string) => boolean;
  maxDepth?: number;
}): RequestHandler[] {
  const accept = options.accept ?? ((type) => /^application\/([a-z.+-]*\+)?json\b/i.test(type));
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  const parser = express.json({
    limit: options.limit,
    type: () => true,
    strict: true,
    // Runs on the raw bytes before JSON.parse; what it throws goes to the error mapper as it is.
    verify: (_req, _res, buffer) => {
      if (exceedsJsonDepth(buffer, maxDepth)) throw jsonTooDeep(maxDepth);
    },
  });
  return [
    (req, _res, next) => {
      const type = req.headers["content-type"];
      if (!type || !accept(type))
        throw problems.unsupportedMediaType(`unsupported content type ${type ?? "(none)"}`);
      next();
    },
    parser,
  ];
}

/** Validates a parsed body, answering 400 with the first problems found. */
export function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((issue) => ({
      path: issue.path.join("."),
      message: issue.message,
    }));
    const first = issues[0];
    throw problems.badRequest(first ? `${first.path || "body"}: ${first.message}` : "invalid request body", {
      issues,
    });
  }
  return result.data;
}

/** The answer to a JSON body nesting deeper than a route accepts. */
export function jsonTooDeep(maxDepth: number) {
  return problems.badRequest(`request body nests objects or arrays deeper than ${maxDepth} levels`, {
    reason: "jsonTooDeep",
  });
}
