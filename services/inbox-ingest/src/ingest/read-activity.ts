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
  return new Promise((resolve) => new BodyCollector(req, limitBytes, declaredLength, tooLarge, resolve));
}

/**
 * Collects one request's body chunks. The listeners stay attached until the request is gone; once
 * the answer is known further events are ignored (data past the limit is discarded unread).
 */
class BodyCollector {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private done = false;

  constructor(
    req: IncomingMessage,
    private readonly limitBytes: number,
    private readonly declaredLength: number | undefined,
    private readonly tooLarge: RawBody,
    private readonly resolve: (body: RawBody) => void,
  ) {
    req.on("data", (chunk: Buffer) => this.data(chunk));
    req.on("end", () => this.end());
    // "close" before "end": the client went away mid-body; "error": the stream failed.
    req.on("error", () => this.unreadable());
    req.on("close", () => this.unreadable());
  }

  private data(chunk: Buffer): void {
    if (this.done) return;
    this.received += chunk.length;
    if (this.received > this.limitBytes) this.finish(this.tooLarge);
    else this.chunks.push(chunk);
  }

  private end(): void {
    if (this.done) return;
    if (this.declaredLength !== undefined && this.received !== this.declaredLength) {
      this.finish({
        ok: false,
        status: 400,
        reason: "unreadableBody",
        detail: "request size did not match content length",
      });
      return;
    }
    const [only] = this.chunks;
    const bytes = this.chunks.length === 1 && only ? only : Buffer.concat(this.chunks, this.received);
    this.finish({ ok: true, bytes });
  }

  private unreadable(): void {
    if (this.done) return;
    this.finish({
      ok: false,
      status: 400,
      reason: "unreadableBody",
      detail: "the request body could not be read",
    });
  }

  private finish(body: RawBody): void {
    this.done = true;
    this.chunks.length = 0;
    this.resolve(body);
  }
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
