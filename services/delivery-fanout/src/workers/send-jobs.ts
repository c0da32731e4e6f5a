import { ACTIVITY_JSON } from "@mimi/activitypub";
import { type BusRecord, type HandlerOutcome, pendingOutcome, type RecordHandler } from "@mimi/bus";
import { doubleKnock } from "@mimi/http-signatures";
import { type DeliveryJob, deliveryJobsTopic, destinationKey } from "@mimi/topics";
import type { PairKey } from "../adapters/held-pairs.js";
import type { DeliveryFanoutContext } from "../context.js";
import { destinationIsBlocked } from "../domain/blocked-destinations.js";
import { isUnavailable } from "../domain/domain-availability.js";
import type { HoldPlan } from "../domain/pair-queue.js";
import { type AttemptResult, classifyAttempt, planRetry, withinLifetime } from "../domain/retry-policy.js";
import { DOMAIN_BLOCKED } from "./domain-blocks.js";
import { attemptFrom, DeliveryHeaders } from "./headers.js";

/** Reason recorded when a destination is skipped under the unavailable-domain rule. */
export const DOMAIN_UNAVAILABLE = "domainUnavailable";

/** What the handler asks of the pair dispatcher (`PairDispatcher` in pair-dispatcher.ts). */
export interface JobDispatcher {
  accept(
    record: BusRecord,
    job: DeliveryJob,
    destination: string,
    attempt: number,
  ): Promise<{ settled: Promise<HandlerOutcome> }>;
  release(key: PairKey): void;
}

/**
 * `delivery.jobs` -> the job joins its pair's queue (its signer and its inbox's origin) in the
 * dispatcher, and the handler answers `pending` once it is accepted: the record settles when the job
 * was delivered, given up (`dlq`, so the bus copies it to `delivery.jobs.dead`) or stored behind a
 * failed job of its pair. A release record (header `delivery-release`) starts the drain of a held
 * pair's stored backlog.
 */
export function sendJobHandler(ctx: DeliveryFanoutContext, dispatcher: JobDispatcher): RecordHandler {
  return async (record) => {
    const parsed = deliveryJobsTopic.parse(record);
    if (!parsed.ok) return { kind: "dlq", reason: parsed.reason };
    const job = parsed.value;
    const attempt = attemptFrom(record.headers, DeliveryHeaders.attempt);
    let destination: string;
    try {
      destination = destinationKey(job.inbox);
    } catch {
      const reason = `invalid inbox URL ${job.inbox}`;
      await recordDeadLetter(ctx, job, attempt, reason);
      return { kind: "dlq", reason };
    }
    if (record.headers[DeliveryHeaders.release] !== undefined) {
      dispatcher.release({ signer: job.signAs, destination });
      return { kind: "ok" };
    }
    const { settled } = await dispatcher.accept(record, job, destination, attempt);
    return pendingOutcome(settled);
  };
}

/** What one attempt of a delivery came to. */
export type DeliveryAttemptOutcome =
  | { kind: "delivered" }
  /** Given up: refused for good, out of attempts or lifetime, no key, or the domain is unavailable. */
  | { kind: "dead"; reason: string }
  /** The POST failed for now: the pair is held until `hold.dueAtMs`. */
  | { kind: "failed"; hold: HoldPlan }
  /** Not sent (the destination's breaker is open): the pair is held until it may be probed. */
  | { kind: "deferred"; hold: HoldPlan };

/**
 * One signed POST of `job` (its `attempt`-th), after the unavailable-domain rule, the job's lifetime
 * and the destination's breaker allowed it; records the destination's health and breaker state.
 */
export async function attemptDelivery(
  ctx: DeliveryFanoutContext,
  job: DeliveryJob,
  destination: string,
  attempt: number,
): Promise<DeliveryAttemptOutcome> {
  // A blocked domain gets no request: given up for good (a dead letter), never retried.
  if (destinationIsBlocked(destination, await ctx.domainBlocks.snapshot())) {
    ctx.blockedDeliveries.inc({ stage: "send" });
    ctx.logger.info({ activityId: job.activityId, inbox: job.inbox }, "delivery to a blocked domain dropped");
    return { kind: "dead", reason: DOMAIN_BLOCKED };
  }
  const availability = await ctx.health.load(destination);
  if (isUnavailable(availability)) return { kind: "dead", reason: DOMAIN_UNAVAILABLE };

  const nowMs = ctx.now();
  const firstAttemptAtMs = Date.parse(job.firstAttemptAt) || nowMs;
  if (!withinLifetime(firstAttemptAtMs, nowMs, ctx.settings.retry)) {
    return { kind: "dead", reason: `lifetime of ${ctx.settings.retry.lifetimeMs} ms spent` };
  }
  const admission = ctx.breakers.admit(destination, nowMs);
  if (admission.kind === "defer") {
    const cooldownMs =
      admission.state.phase === "closed" ? ctx.settings.breaker.cooldownMs : admission.state.cooldownMs;
    // A little jitter so the pairs of one destination do not all come back in the same millisecond.
    const dueAtMs = admission.untilMs + Math.round(ctx.random() * Math.min(1_000, cooldownMs / 10));
    if (!withinLifetime(firstAttemptAtMs, dueAtMs, ctx.settings.retry)) {
      return { kind: "dead", reason: "circuit open until the delivery's lifetime ended" };
    }
    return { kind: "deferred", hold: { dueAtMs, reason: "circuit open" } };
  }

  const key = await ctx.actorKeys.signingKey(job.signAs);
  if (!key) return { kind: "dead", reason: `no signing key for ${job.signAs}` };
  // RFC 9421 (Ed25519) first; signed again with draft-cavage (RSA) when the peer refuses it.
  const { result: response } = await doubleKnock({
    url: job.inbox,
    key,
    memory: ctx.signatureSchemes,
    send: async (scheme) => {
      const request = {
        method: "POST",
        url: job.inbox,
        headers: { "content-type": ACTIVITY_JSON },
        body: job.body,
      };
      const headers = await ctx.signer.sign(request, key, { now: new Date(nowMs), scheme });
      return ctx.http.request(job.inbox, { method: "POST", headers, body: job.body });
    },
    statusOf: (answer) => (answer.ok ? answer.status : undefined),
  });
  const result: AttemptResult = response.ok
    ? { kind: "response", status: response.status, retryAfter: response.headers["retry-after"] }
    : { kind: "networkError", reason: response.reason, detail: response.detail };
  const classification = classifyAttempt(result, ctx.now());
  const log = { activityId: job.activityId, inbox: job.inbox, attempt };

  if (classification.kind === "delivered" || classification.kind === "permanent") {
    // The destination answered: it is reachable, whether or not it accepted this activity.
    await ctx.health.recordSuccess(destination, availability);
    if (ctx.breakers.recordSuccess(destination)) await wakeHeldPairs(ctx, destination);
    if (classification.kind === "delivered") {
      ctx.logger.debug({ ...log, status: classification.status }, "delivered");
      return { kind: "delivered" };
    }
    return { kind: "dead", reason: `refused: ${classification.reason}` };
  }

  ctx.breakers.recordFailure(destination, ctx.now());
  await ctx.health.recordFailure(destination, ctx.now());
  const failedAtMs = ctx.now();
  const decision = planRetry({
    failedAttempt: attempt,
    firstAttemptAtMs,
    nowMs: failedAtMs,
    retryAfterMs: classification.retryAfterMs,
    settings: ctx.settings.retry,
    random: ctx.random,
  });
  if (decision.kind === "giveUp") {
    return { kind: "dead", reason: `${classification.reason}; ${decision.reason}` };
  }
  ctx.logger.info(
    { ...log, reason: classification.reason, retryInMs: decision.delayMs },
    "delivery failed, will retry",
  );
  const notBeforeMs =
    classification.retryAfterMs === undefined
      ? undefined
      : failedAtMs + Math.min(classification.retryAfterMs, ctx.settings.retry.maxDelayMs);
  return { kind: "failed", hold: { dueAtMs: decision.atMs, notBeforeMs, reason: classification.reason } };
}

/**
 * The destination's breaker closed: the pairs held for it (by the outage that opened the breaker)
 * are due now rather than at the end of their backoff. A failure here only delays them.
 */
async function wakeHeldPairs(ctx: DeliveryFanoutContext, destination: string): Promise<void> {
  try {
    const woken = await ctx.heldPairs.wake(destination, ctx.now());
    if (woken > 0) ctx.logger.info({ destination, pairs: woken }, "destination back; held pairs due now");
  } catch (error) {
    ctx.logger.warn({ err: error, destination }, "waking held pairs failed; they wait for their due time");
  }
}

/** The `delivery.dead_letters` row of a given-up delivery. */
export async function recordDeadLetter(
  ctx: DeliveryFanoutContext,
  job: DeliveryJob,
  attempts: number,
  reason: string,
): Promise<void> {
  ctx.logger.warn({ activityId: job.activityId, inbox: job.inbox, attempts, reason }, "delivery given up");
  await ctx.deadLetters.record({
    activityId: job.activityId,
    inbox: job.inbox,
    recipients: job.recipients,
    reason,
    attempts,
    firstAttemptAt: new Date(Date.parse(job.firstAttemptAt) || ctx.now()),
  });
}
