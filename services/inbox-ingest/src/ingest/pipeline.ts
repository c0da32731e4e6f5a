import type { IncomingHttpHeaders } from "node:http";
import type { ProblemError } from "@mimi/service-kit";
import type { Publication } from "./publications.js";
import { type RefusalReason, refusal } from "./rejections.js";

/** The body as read, or why it was not: the read step refuses it for that reason. */
export type RawBody =
  | { readonly ok: true; readonly bytes: Buffer }
  | {
      readonly ok: false;
      readonly reason:
        | "unsupportedMediaType"
        | "bodyTooLarge"
        | "unsupportedContentEncoding"
        | "unreadableBody";
      readonly detail: string;
    };

/**
 * One inbox or outbox POST as the steps see it: no Express, nothing to answer on. Steps return what
 * they decided; `answer` (src/routes/answer.ts) alone turns that into HTTP, a metric and a log line.
 */
export interface IngestRequest {
  readonly method: string;
  /** The path as received, query included: what a signature's request target covers. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The route's path parameters (`username`, `channelId`). */
  readonly params: Readonly<Record<string, string>>;
  /** The body as read within the size limit, or why it was not read (`activityBody`). */
  readonly body: RawBody;
}

/** What the answering place logs for an outcome; a step says what happened, not how it is answered. */
export interface LogNote {
  readonly level: "info" | "warn" | "error";
  readonly message: string;
  /** Ids, types, actors and reasons; never tokens, bodies or keys. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Published now: answered 202. */
export interface Accepted {
  readonly kind: "accepted";
  readonly publication: Publication;
}

/** Its dedupe key was already there: answered 202, nothing published. */
export interface Duplicate {
  readonly kind: "duplicate";
  readonly publication: Publication;
}

/** `blockedByRecipient`: every recipient blocked the author (answered 202 all the same). */
export type DropReason = "noLocalRecipient" | "blockedByRecipient";

/** Nothing to do here (nobody local to deliver to): answered 202, nothing published, logged. */
export interface Dropped {
  readonly kind: "dropped";
  readonly reason: DropReason;
  readonly note: LogNote;
}

/** Refused: answered with `problem` (problem+json, its status, `reason`, headers); nothing kept. */
export interface Refused {
  readonly kind: "refused";
  readonly reason: RefusalReason;
  readonly problem: ProblemError;
  readonly note?: LogNote;
}

/** How a request ends. */
export type IngestOutcome = Accepted | Duplicate | Dropped | Refused;

/** A step let the request through, with what it established. */
export interface Proceed<T> {
  readonly kind: "continue";
  readonly value: T;
}

/**
 * What a step before publication returns: go on with `value`, or end the request here. A pipeline
 * returns every result that is not `continue` as its outcome.
 */
export type StepResult<T> = Proceed<T> | Dropped | Refused;

export function proceed<T>(value: T): Proceed<T> {
  return { kind: "continue", value };
}

/** A refusal with `reason`'s status and headers (see `refusal`). */
export function refuse(
  reason: RefusalReason,
  detail: string,
  options: { readonly extra?: Readonly<Record<string, unknown>>; readonly note?: LogNote } = {},
): Refused {
  const refused: Refused = { kind: "refused", reason, problem: refusal(reason, detail, options.extra) };
  return options.note ? { ...refused, note: options.note } : refused;
}

export function drop(reason: DropReason, note: LogNote): Dropped {
  return { kind: "dropped", reason, note };
}
