/**
 * Trace context across the bus (W3C `traceparent`/`tracestate` in record headers). Publishing adds the
 * active context to messages that carry none; handling runs the handler in a consumer span whose parent
 * is the context in the record's headers. Without an OpenTelemetry SDK registered, the API is a no-op.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { isHandlerAnswer } from "./handler-answers";
import type { BusMessage, BusRecord, HandlerOutcome, PendingOutcome } from "./types";

const tracer = trace.getTracer("@mimi/bus");

const headerGetter = {
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
  get: (carrier: Record<string, string>, key: string) => carrier[key],
};

/** Messages with the active trace context added to those that carry none (a publisher's own wins). */
export function withTraceContext(messages: readonly BusMessage[]): BusMessage[] {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) return [...messages];
  return messages.map((message) =>
    message.headers?.traceparent ? message : { ...message, headers: { ...carrier, ...message.headers } },
  );
}

/**
 * Runs `handle` in a consumer span, child of the record's trace context. A `pending` answer's span
 * lasts until its outcome settles, so the span covers the record's whole handling.
 */
export function handleInSpan(
  record: BusRecord,
  groupId: string,
  handle: () => Promise<HandlerOutcome | PendingOutcome>,
): Promise<HandlerOutcome | PendingOutcome> {
  const parent = propagation.extract(context.active(), record.headers, headerGetter);
  return tracer.startActiveSpan(
    `${record.topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": record.sourceTopic,
        "messaging.consumer.group.name": groupId,
        "messaging.destination.partition.id": String(record.partition),
        "messaging.kafka.offset": record.offset,
        "mimi.bus.attempt": record.attempt,
      },
    },
    parent,
    async (span) => {
      const noteOutcome = (outcome: HandlerOutcome) => {
        span.setAttribute("mimi.bus.outcome", outcome.kind);
        if (outcome.kind !== "ok") span.setAttribute("mimi.bus.reason", outcome.reason);
        if (outcome.kind === "retry" || outcome.kind === "dlq") {
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason });
        }
      };
      const noteError = (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      };
      let answer: HandlerOutcome | PendingOutcome;
      try {
        answer = await handle();
      } catch (error) {
        noteError(error);
        span.end();
        throw error;
      }
      // Not an outcome: the adapter crashes the member (see `isHandlerAnswer`), not a retry.
      if (!isHandlerAnswer(answer)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: "the handler's answer is not an outcome" });
        span.end();
        return answer;
      }
      if (answer.kind !== "pending") {
        noteOutcome(answer);
        span.end();
        return answer;
      }
      const settled = answer.settled.then(
        (outcome) => {
          noteOutcome(outcome);
          span.end();
          return outcome;
        },
        (error: unknown) => {
          noteError(error);
          span.end();
          throw error;
        },
      );
      const pending: PendingOutcome = { kind: "pending", settled };
      return pending;
    },
  );
}
