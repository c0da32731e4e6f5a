/**
 * Pure rules shared by every adapter: retry and dead-letter topic names, the headers the bus adds,
 * which physical topics a subscription reads, and what to do with a record once its handler decided.
 */
import type { BusMessage, BusRecord, HandlerOutcome, RetryPolicy } from "./types";

/** Headers the bus itself writes on retry and dead-letter records. Publisher headers are kept beside them. */
export const BusHeaders = {
  /** The topic the record was first published to. */
  originalTopic: "bus-original-topic",
  /** The consumer group whose handler asked for the retry / dead-letter (retry records are per group). */
  group: "bus-group",
  /** On retry records: the attempt number of the next delivery. */
  attempt: "bus-attempt",
  /** On retry records: epoch milliseconds before which the record must not be handled. */
  notBefore: "bus-not-before",
  /** On retry records: why the previous attempt asked for a retry. */
  retryReason: "bus-retry-reason",
  /** On dead records: why the record was given up. */
  deadReason: "bus-dead-reason",
  /** On dead records: `dlq` (the handler asked for it) or `retries-exhausted`. */
  deadKind: "bus-dead-kind",
  /** On dead records: how many attempts were made. */
  attempts: "bus-attempts",
} as const;

const busHeaderNames: ReadonlySet<string> = new Set(Object.values(BusHeaders));

export const DEFAULT_RETRY_POLICY: RetryPolicy = { delaysMs: [1_000, 10_000, 60_000] };

export function retryTopicName(topic: string, level: number): string {
  return `${topic}.retry.${level}`;
}

export function deadTopicName(topic: string): string {
  return `${topic}.dead`;
}

/** A physical topic a subscription reads, and what it means for the records read from it. */
export interface SourceTopic {
  /** The topic name on the bus. */
  name: string;
  /** The topic handlers see as `record.topic`. */
  logicalTopic: string;
  /** 0 for the topic itself, n for `<topic>.retry.<n>`. */
  retryLevel: number;
}

/** The topics a subscription reads: each requested topic plus one retry topic per retry delay. */
export function sourceTopicsFor(topics: readonly string[], policy: RetryPolicy): SourceTopic[] {
  const sources: SourceTopic[] = [];
  for (const topic of topics) {
    sources.push({ name: topic, logicalTopic: topic, retryLevel: 0 });
    for (let level = 1; level <= policy.delaysMs.length; level++) {
      sources.push({ name: retryTopicName(topic, level), logicalTopic: topic, retryLevel: level });
    }
  }
  return sources;
}

/** Every topic a subscription needs to exist: its sources plus the dead-letter topic of each topic. */
export function topicsToProvision(topics: readonly string[], policy: RetryPolicy): string[] {
  return [...sourceTopicsFor(topics, policy).map((source) => source.name), ...topics.map(deadTopicName)];
}

/** Checks a policy: delays must be finite and non-negative. */
export function validateRetryPolicy(policy: RetryPolicy): { ok: true } | { ok: false; reason: string } {
  for (const delay of policy.delaysMs) {
    if (!Number.isFinite(delay) || delay < 0) {
      return { ok: false, reason: `retry delays must be finite and >= 0, got ${delay}` };
    }
  }
  return { ok: true };
}

/** What a member does with a record it just read, before calling any handler. */
export type Readiness =
  | { kind: "handle"; attempt: number }
  /** A retry record of another consumer group: commit it without handling. */
  | { kind: "skip" }
  /** A retry record whose delay has not elapsed: hold the partition until `dueAtMs`. */
  | { kind: "wait"; dueAtMs: number };

export function readiness(
  source: SourceTopic,
  headers: Readonly<Record<string, string>>,
  groupId: string,
  nowMs: number,
): Readiness {
  if (source.retryLevel === 0) return { kind: "handle", attempt: 1 };
  if (headers[BusHeaders.group] !== groupId) return { kind: "skip" };
  const dueAtMs = Number(headers[BusHeaders.notBefore] ?? 0);
  if (Number.isFinite(dueAtMs) && dueAtMs > nowMs) return { kind: "wait", dueAtMs };
  const attempt = Number(headers[BusHeaders.attempt]);
  return {
    kind: "handle",
    attempt: Number.isInteger(attempt) && attempt > 1 ? attempt : source.retryLevel + 1,
  };
}

/** What to do after the handler decided: commit, or publish a copy to a retry / dead topic and then commit. */
export type OutcomePlan =
  | { kind: "commit" }
  | { kind: "forward"; destination: "retry" | "dead"; topic: string; message: BusMessage };

export interface HandledRecord {
  logicalTopic: string;
  key: string;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
  attempt: number;
}

/** What {@link planOutcome} needs of a record a handler was given. */
export function handledRecordOf(record: BusRecord): HandledRecord {
  return {
    logicalTopic: record.topic,
    key: record.key,
    value: record.value,
    headers: record.headers,
    attempt: record.attempt,
  };
}

export function planOutcome(
  record: HandledRecord,
  outcome: HandlerOutcome,
  groupId: string,
  policy: RetryPolicy,
  nowMs: number,
): OutcomePlan {
  switch (outcome.kind) {
    case "ok":
    case "drop":
      return { kind: "commit" };
    case "dlq":
      return deadLetter(record, groupId, "dlq", outcome.reason);
    case "retry": {
      const delayMs = policy.delaysMs[record.attempt - 1];
      if (delayMs === undefined) {
        return deadLetter(record, groupId, "retries-exhausted", outcome.reason);
      }
      return {
        kind: "forward",
        destination: "retry",
        topic: retryTopicName(record.logicalTopic, record.attempt),
        message: {
          key: record.key,
          value: record.value,
          headers: {
            ...forwardedHeaders(record, groupId),
            [BusHeaders.attempt]: String(record.attempt + 1),
            [BusHeaders.notBefore]: String(nowMs + delayMs),
            [BusHeaders.retryReason]: outcome.reason,
          },
        },
      };
    }
  }
}

/** What a retry copy and a dead letter both carry: the publisher's headers, where and for whom it was. */
function forwardedHeaders(record: HandledRecord, groupId: string): Record<string, string> {
  return {
    ...publisherHeaders(record.headers),
    [BusHeaders.originalTopic]: record.logicalTopic,
    [BusHeaders.group]: groupId,
  };
}

function deadLetter(
  record: HandledRecord,
  groupId: string,
  kind: "dlq" | "retries-exhausted",
  reason: string,
): OutcomePlan {
  return {
    kind: "forward",
    destination: "dead",
    topic: deadTopicName(record.logicalTopic),
    message: {
      key: record.key,
      value: record.value,
      headers: {
        ...forwardedHeaders(record, groupId),
        [BusHeaders.deadKind]: kind,
        [BusHeaders.deadReason]: reason,
        [BusHeaders.attempts]: String(record.attempt),
      },
    },
  };
}

/** The headers the publisher set (trace context etc.), without the bus's own bookkeeping. */
export function publisherHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!busHeaderNames.has(name)) kept[name] = value;
  }
  return kept;
}

/** The reason recorded for a handler that threw. */
export function reasonFromError(error: unknown): string {
  if (error instanceof Error) return `handler threw: ${error.message}`;
  return `handler threw: ${String(error)}`;
}
