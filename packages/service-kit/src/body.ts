import express, { type RequestHandler } from "express";
import type { z } from "zod";
import { problems } from "./errors.js";

/**
 * Parses a JSON body after checking its media type, so a wrong Content-Type is a 415 rather
 * than a confusing "missing field" 400.
 */
export function jsonBody(options: {
  limit: string | number;
  accept?: (contentType: string) => boolean;
}): RequestHandler[] {
  const accept = options.accept ?? ((type) => /^application\/([a-z.+-]*\+)?json\b/i.test(type));
  const parser = express.json({ limit: options.limit, type: () => true, strict: true });
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
