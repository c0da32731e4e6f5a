import { ACTIVITY_JSON } from "@mimi/activitypub";
import { type BusRecord, type HandlerOutcome, pendingOutcome, type RecordHandler } from "@mimi/bus";
import { type DeliveryJob, deliveryJobsTopic, destinationKey } from "@mimi/topics";
import type { DeliveryFanoutContext } from "../context.js";
import { isUnavailable } from "../domain/domain-availability.js";
import { mayOvertake } from "../domain/ordering.js";
import { type AttemptResult, classifyAttempt, planRetry, withinLifetime } from "../domain/retry-policy.js";
import type { DestinationQueues } from "./destination-queues.js";
import { attemptFrom, DeliveryHeaders } from "./headers.js";

/** Reason recorded when a destination is skipped under the unavailable-domain rule. */
export const DOMAIN_UNAVAILABLE = "domainUnavailable";

/**
 * `delivery.jobs` -> one signed POST. Each job ends delivered, parked for a later attempt
 * (`delivery.scheduled_messages`), or dead-lettered (`delivery.dead_letters` row, and `dlq` so the
 * bus copies the record to `delivery.jobs.dead`).
 *
 * Without `queues` the handler returns the outcome itself: one delivery at a time per partition. With
 * them the job joins its destination's queue and the handler answers `pending` once it is accepted, so
 * up to the queues' capacity of deliveries are in flight; the bus commits the job's offset only after
 * its outcome settled (at-least-once on every bus).
 */
export function sendJobHandler(ctx: DeliveryFanoutContext, queues?: DestinationQueues): RecordHandler {
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
    let settle: (outcome: HandlerOutcome) => void = () => {};
    const settled = new Promise<HandlerOutcome>((resolve) => {
      settle = resolve;
    });
    await queues.submit(
      origin,
      async () => {
        try {
          settle(await deliver(ctx, record, job, origin, attempt));
        } catch (error) {
          settle({ kind: "retry", reason: error instanceof Error ? error.message : String(error) });
        }
      },
      { exclusive: !mayOvertake(job.body) },
    );
    return pendingOutcome(settled);
  };
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
