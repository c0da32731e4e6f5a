import type { IncomingMessage } from "node:http";
import { type ActivityEnvelope, isActivityContentType } from "@mimi/activitypub";
import type { Request, RequestHandler } from "express";
import { parseActivityBody } from "../domain/parse-activity.js";
import type { IngestRoute } from "./outcomes.js";
import { rejection } from "./rejections.js";

/**
 * The first steps of every inbox and outbox POST, before anything is authenticated, as one
 * middleware: the route label (for the rejection metric), the media type (415), then the raw body
 * within the size limit (413). The raw bytes are kept because the signature's digest covers them
 * exactly.
 */
export function activityBody(route: IngestRoute, limitBytes: number): RequestHandler {
  return (req, res, next) => {
    res.locals.ingestRoute = route;
    const type = req.headers["content-type"];
    if (!isActivityContentType(type)) {
      throw rejection(
        415,
        "unsupportedMediaType",
        `expected application/activity+json or application/ld+json with the ActivityStreams profile, got ${type ?? "no content type"}`,
      );
    }
    readRawBody(req, limitBytes).then((body) => {
      if (body.ok) {
        req.body = body.bytes;
        next();
      } else {
        next(rejection(body.status, body.reason, body.detail));
      }
    }, next);
  };
}

export type RawBody =
  | { readonly ok: true; readonly bytes: Buffer }
  | {
      readonly ok: false;
      readonly status: 400 | 413 | 415;
      readonly reason: "bodyTooLarge" | "unsupportedContentEncoding" | "unreadableBody";
      readonly detail: string;
    };

/**
 * Reads the request body as sent (no decompression: a `Content-Encoding` other than identity is
 * refused, since the digest covers the bytes as sent and inflating invites zip bombs). A declared
 * length over the limit is refused before reading, a streamed body as soon as it passes the limit;
 * what is left unread is discarded by node:http once the answer is sent.
 */
export function readRawBody(req: IncomingMessage, limitBytes: number): Promise<RawBody> {
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    return Promise.resolve({
      ok: false,
      status: 415,
      reason: "unsupportedContentEncoding",
      detail: "compressed request bodies are not accepted",
    });
  }
  const tooLarge: RawBody = {
    ok: false,
    status: 413,
    reason: "bodyTooLarge",
    detail: `the body is larger than ${limitBytes} bytes`,
  };
  const declared = req.headers["content-length"];
  const declaredLength = declared === undefined ? undefined : Number(declared);
  if (declaredLength !== undefined && declaredLength > limitBytes) return Promise.resolve(tooLarge);
  // Neither a length nor chunked transfer: the request has no body.
  if (declaredLength === undefined && req.headers["transfer-encoding"] === undefined) {
    return Promise.resolve({ ok: true, bytes: Buffer.alloc(0) });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: RawBody) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) finish(tooLarge);
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (declaredLength !== undefined && received !== declaredLength) {
        finish({
          ok: false,
          status: 400,
          reason: "unreadableBody",
          detail: "request size did not match content length",
        });
      } else {
        finish({
          ok: true,
          bytes: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, received),
        });
      }
    };
    const unreadable = () =>
      finish({
        ok: false,
        status: 400,
        reason: "unreadableBody",
        detail: "the request body could not be read",
      });
    const onError = unreadable;
    // "close" before "end": the client went away mid-body.
    const onClose = unreadable;
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
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
