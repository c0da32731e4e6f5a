import { type ActivityEnvelope, isActivityContentType } from "@mimi/activitypub";
import { toProblem } from "@mimi/service-kit";
import express, { type Request, type RequestHandler } from "express";
import { parseActivityBody } from "../domain/parse-activity.js";
import { rejection } from "./rejections.js";

/**
 * The first steps of every inbox and outbox POST, before anything is authenticated: the media type
 * (415), then the raw body within the size limit (413). The raw bytes are kept because the
 * signature's digest covers them exactly.
 */
export function activityBody(limitBytes: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: limitBytes, inflate: false });
  return [
    (req, _res, next) => {
      const type = req.headers["content-type"];
      if (!isActivityContentType(type)) {
        throw rejection(
          415,
          "unsupportedMediaType",
          `expected application/activity+json or application/ld+json with the ActivityStreams profile, got ${type ?? "no content type"}`,
        );
      }
      next();
    },
    (req, res, next) => {
      raw(req, res, (error?: unknown) => {
        if (error === undefined || error === null) {
          next();
          return;
        }
        const problem = toProblem(error);
        if (problem?.status === 413) {
          next(rejection(413, "bodyTooLarge", `the body is larger than ${limitBytes} bytes`));
        } else if (problem?.status === 415) {
          next(rejection(415, "unsupportedContentEncoding", "compressed request bodies are not accepted"));
        } else if (problem) {
          next(rejection(problem.status, "unreadableBody", problem.detail));
        } else {
          next(error);
        }
      });
    },
  ];
}

/** The body bytes as read by `activityBody` (empty when the request had none). */
export function bodyBytesOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** JSON parse (400) and the envelope schema (400). */
export function readActivity(body: Uint8Array): ActivityEnvelope {
  const parsed = parseActivityBody(body);
  if (!parsed.ok) {
    throw rejection(
      400,
      parsed.reason,
      parsed.detail,
      parsed.issues ? { extra: { issues: parsed.issues } } : {},
    );
  }
  return parsed.activity;
}
