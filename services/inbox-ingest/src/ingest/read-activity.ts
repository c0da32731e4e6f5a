import type { IncomingMessage } from "node:http";
import { type ActivityEnvelope, isActivityContentType } from "@mimi/activitypub";
import type { RequestHandler } from "express";
import { addressingExcess, type IngestLimits } from "../domain/ingest-limits.js";
import { parseActivityBody } from "../domain/parse-activity.js";
import type { IngestRoute } from "./outcomes.js";
import { proceed, type RawBody, refuse, type StepResult } from "./pipeline.js";

export type { RawBody } from "./pipeline.js";

const capturedBodies = new WeakMap<IncomingMessage, RawBody>();

/**
 * The body capture in front of every inbox and outbox handler: labels the route (for the router's
 * count of failures) and reads the raw body within the size limit, keeping the bytes as sent since
 * the signature's digest covers them exactly. It answers nothing: the read step refuses what it
 * found. A body whose media type will be refused is not read at all.
 */
export function activityBody(route: IngestRoute, limitBytes: number): RequestHandler {
  return (req, res, next) => {
    res.locals.ingestRoute = route;
    const type = req.headers["content-type"];
    if (!isActivityContentType(type)) {
      capturedBodies.set(req, {
        ok: false,
        reason: "unsupportedMediaType",
        detail: `expected application/activity+json or application/ld+json with the ActivityStreams profile, got ${type ?? "no content type"}`,
      });
      next();
      return;
    }
    readRawBody(req, limitBytes).then((body) => {
      capturedBodies.set(req, body);
      next();
    }, next);
  };
}

/** The body `activityBody` captured for `req`. */
export function capturedBody(req: IncomingMessage): RawBody {
  const body = capturedBodies.get(req);
  if (body === undefined) throw new Error("no captured body: activityBody must run before the handler");
  return body;
}

/** An activity that passed the read step, with the bytes it was read from (for the signature). */
export interface ReceivedActivity {
  readonly activity: ActivityEnvelope;
  readonly body: Uint8Array;
}

/**
 * The read step: media type and size (as the capture found them), then UTF-8 JSON, the envelope
 * (`activityEnvelopeSchema`) and the number of addresses (every addressing field, `bto` and `bcc`
 * included, counts toward `MIMI_INBOX_MAX_ADDRESSES`), each refused with its own reason.
 */
export function readActivity(body: RawBody, limits: IngestLimits): StepResult<ReceivedActivity> {
  if (!body.ok) return refuse(body.reason, body.detail);
  const parsed = parseActivityBody(body.bytes);
  if (!parsed.ok) {
    return refuse(parsed.reason, parsed.detail, parsed.issues ? { extra: { issues: parsed.issues } } : {});
  }
  const excess = addressingExcess(parsed.activity, limits);
  if (excess !== undefined) return refuse("tooManyAddresses", excess);
  return proceed({ activity: parsed.activity, body: body.bytes });
}

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
      reason: "unsupportedContentEncoding",
      detail: "compressed request bodies are not accepted",
    });
  }
  const tooLarge: RawBody = {
    ok: false,
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
