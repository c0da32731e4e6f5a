import { ACTIVITY_JSON } from "@mimi/activitypub";
import {
  type BusRecord,
  type HandlerOutcome,
  handledRecordOf,
  planOutcome,
  type RecordHandler,
  type RetryPolicy,
} from "@mimi/bus";
import { type DeliveryJob, deliveryJobsTopic, destinationKey } from "@mimi/topics";
import type { DeliveryFanoutContext } from "../context.js";
import { isUnavailable } from "../domain/domain-availability.js";
import { type AttemptResult, classifyAttempt, planRetry, withinLifetime } from "../domain/retry-policy.js";
import type { DestinationQueues } from "./destination-queues.js";
import { attemptFrom, DeliveryHeaders, SEND_GROUP } from "./headers.js";

/** Reason recorded when a destination is skipped under the unavailable-domain rule. */
export const DOMAIN_UNAVAILABLE = "domainUnavailable";

/**
 * `delivery.jobs` -> one signed POST. Each job ends delivered, parked for a later attempt
 * (`delivery.scheduled_messages`), or dead-lettered (`delivery.dead_letters` row, and `dlq` so the
 * bus copies the record to `delivery.jobs.dead`).
 *
 * Without `queues` the offset is committed only after the outcome is recorded. With them the job is
 * accepted into its destination's queue and the handler returns at once, so up to the queues'
 * capacity of deliveries are in flight instead of one per partition; the outcome the bus would have
 * acted on (dead topic, retry topic) is then forwarded here exactly as the bus does it.
 */
export function sendJobHandler(ctx: DeliveryFanoutContext, queues?: DestinationQueues): RecordHandler {
  const policy = { delaysMs: ctx.settings.busRetryDelaysMs };
  return async (record) => {
    const parsed = deliveryJobsTopic.parse(record);
    if (!parsed.ok) return { kind: "dlq", reason: parsed.reason };
    const job = parsed.value;
    const attempt = attemptFrom(record.headers, DeliveryHeaders.attempt);
    let origin: string;
    try {
      origin = destinationKey(job.inbox);
    } catch {
      return deadLetter(ctx, job, attempt, `invalid inbox URL ${job.inbox}`);
    }
    if (!queues) return deliver(ctx, record, job, origin, attempt);
    await queues.submit(origin, async () => {
      let outcome: HandlerOutcome;
      try {
        outcome = await deliver(ctx, record, job, origin, attempt);
      } catch (error) {
        outcome = { kind: "retry", reason: error instanceof Error ? error.message : String(error) };
      }
      await forwardAsTheBusWould(ctx, record, outcome, policy);
    });
    return { kind: "ok" };
  };
}

/** Publishes the dead or retry copy the bus makes for a `dlq`/`retry` outcome of the send group. */
async function forwardAsTheBusWould(
  ctx: DeliveryFanoutContext,
  record: BusRecord,
  outcome: HandlerOutcome,
  policy: RetryPolicy,
): Promise<void> {
  const plan = planOutcome(handledRecordOf(record), outcome, SEND_GROUP, policy, ctx.now());
  if (plan.kind !== "forward") return;
  try {
    await ctx.bus.publish(plan.topic, [plan.message]);
  } catch (error) {
    ctx.logger.error(
      { err: error, topic: plan.topic, inbox: record.key },
      "forwarding a delivery outcome failed",
    );
  }
}

async function deliver(
  ctx: DeliveryFanoutContext,
  record: BusRecord,
  job: DeliveryJob,
  origin: string,
  attempt: number,
): Promise<HandlerOutcome> {
  const availability = await ctx.health.load(origin);
  if (isUnavailable(availability)) return deadLetter(ctx, job, attempt, DOMAIN_UNAVAILABLE);

  const nowMs = ctx.now();
  const firstAttemptAtMs = Date.parse(job.firstAttemptAt) || nowMs;
  const admission = ctx.breakers.admit(origin, nowMs);
  if (admission.kind === "defer") {
    // A little jitter so deferred jobs do not all return in the same millisecond.
    const dueAtMs =
      admission.untilMs + Math.round(ctx.random() * Math.min(1_000, ctx.settings.breaker.cooldownMs / 10));
    if (!withinLifetime(firstAttemptAtMs, dueAtMs, ctx.settings.retry)) {
      return deadLetter(ctx, job, attempt, "circuit open until the delivery's lifetime ended");
    }
    await reschedule(ctx, record, job, attempt, dueAtMs, "circuit open");
    return { kind: "ok" };
  }

  const key = await ctx.actorKeys.signingKey(job.signAs);
  if (!key) return deadLetter(ctx, job, attempt, `no signing key for ${job.signAs}`);
  const headers = await ctx.signer.sign(
    { method: "POST", url: job.inbox, headers: { "content-type": ACTIVITY_JSON }, body: job.body },
    key,
    { now: new Date(nowMs) },
  );
  const response = await ctx.http.request(job.inbox, { method: "POST", headers, body: job.body });
  const result: AttemptResult = response.ok
    ? { kind: "response", status: response.status, retryAfter: response.headers["retry-after"] }
    : { kind: "networkError", reason: response.reason, detail: response.detail };
  const classification = classifyAttempt(result, ctx.now());
  const log = { activityId: job.activityId, inbox: job.inbox, attempt };

  if (classification.kind === "delivered" || classification.kind === "permanent") {
    // The destination answered: it is reachable, whether or not it accepted this activity.
    await ctx.health.recordSuccess(origin, availability);
    ctx.breakers.recordSuccess(origin);
    if (classification.kind === "delivered") {
      ctx.logger.debug({ ...log, status: classification.status }, "delivered");
      return { kind: "ok" };
    }
    return deadLetter(ctx, job, attempt, `refused: ${classification.reason}`);
  }

  ctx.breakers.recordFailure(origin, ctx.now());
  await ctx.health.recordFailure(origin, ctx.now());
  const decision = planRetry({
    failedAttempt: attempt,
    firstAttemptAtMs,
    nowMs: ctx.now(),
    retryAfterMs: classification.retryAfterMs,
    settings: ctx.settings.retry,
    random: ctx.random,
  });
  if (decision.kind === "giveUp")
    return deadLetter(ctx, job, attempt, `${classification.reason}; ${decision.reason}`);
  ctx.logger.info(
    { ...log, reason: classification.reason, retryInMs: decision.delayMs },
    "delivery failed, will retry",
  );
  await reschedule(ctx, record, job, attempt + 1, decision.atMs, classification.reason);
  return { kind: "ok" };
}

async function reschedule(
  ctx: DeliveryFanoutContext,
  record: BusRecord,
  job: DeliveryJob,
  attempt: number,
  dueAtMs: number,
  reason: string,
): Promise<void> {
  const headers: Record<string, string> = {};
  // Trace context and the like travel on; the bus's bookkeeping headers do not.
  for (const [name, value] of Object.entries(record.headers))
    if (!name.startsWith("bus-")) headers[name] = value;
  headers[DeliveryHeaders.attempt] = String(attempt);
  await ctx.scheduler.schedule(
    deliveryJobsTopic.name,
    deliveryJobsTopic.message(record.key, job, headers),
    dueAtMs,
    reason,
  );
}

async function deadLetter(
  ctx: DeliveryFanoutContext,
  job: DeliveryJob,
  attempts: number,
  reason: string,
): Promise<HandlerOutcome> {
  ctx.logger.warn({ activityId: job.activityId, inbox: job.inbox, attempts, reason }, "delivery given up");
  await ctx.deadLetters.record({
    activityId: job.activityId,
    inbox: job.inbox,
    recipients: job.recipients,
    reason,
    attempts,
    firstAttemptAt: new Date(Date.parse(job.firstAttemptAt) || ctx.now()),
  });
  return { kind: "dlq", reason };
}
