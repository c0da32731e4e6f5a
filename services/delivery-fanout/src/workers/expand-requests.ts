import { type BusMessage, type HandlerOutcome, pendingOutcome, type RecordHandler } from "@mimi/bus";
import {
  type DeliveryJob,
  type DeliveryRequest,
  deliveryJobsTopic,
  deliveryRequestsTopic,
  destinationKey,
  userInboxTopic,
} from "@mimi/topics";
import type { Unresolved } from "../adapters/audience-expander.js";
import type { DeliveryFanoutContext } from "../context.js";
import { deliveryBody, planDeliveries } from "../domain/audience.js";
import { splitBlockedAudience } from "../domain/blocked-destinations.js";
import { planRetry } from "../domain/retry-policy.js";
import { localRecipientsKeeping } from "./domain-blocks.js";
import { attemptFrom, DeliveryHeaders } from "./headers.js";

/**
 * `delivery.requests` -> one `delivery.jobs` message per destination inbox (keyed by its origin) and
 * one `user.inbox` item per local recipient. Local recipients go through `user.inbox` rather than
 * straight into the mailbox so that one consumer (keyed by user) writes every mailbox row, with one
 * dedupe rule and one notification path, whether the activity came from this provider or another.
 */
export function expandRequestHandler(ctx: DeliveryFanoutContext): RecordHandler {
  return async (record) => {
    const parsed = deliveryRequestsTopic.parse(record);
    if (!parsed.ok) return { kind: "dlq", reason: parsed.reason };
    const request = parsed.value;
    const expansionAttempt = attemptFrom(record.headers, DeliveryHeaders.expansionAttempt);
    // Nothing is fetched from, or sent to, a domain the operator blocked.
    const audience = splitBlockedAudience(request.audience, await ctx.domainBlocks.snapshot());
    if (audience.blocked.length > 0) {
      ctx.blockedDeliveries.inc({ stage: "expand" }, audience.blocked.length);
      ctx.logger.info(
        { activityId: request.activityId, signAs: request.signAs, blocked: audience.blocked },
        "audience entries on blocked domains dropped",
      );
    }
    const expanded = await ctx.expandAudience(audience.allowed, { signAs: request.signAs });
    for (const entry of expanded.refused) {
      // Dropped, not delivered: nobody but a channel addresses its followers.
      ctx.logger.warn(
        { activityId: request.activityId, signAs: request.signAs, uri: entry.uri, reason: entry.reason },
        "audience entry refused",
      );
    }
    const plan = planDeliveries(expanded.recipients, request.exclude);
    const nowMs = ctx.now();
    const firstAttemptAt = new Date(nowMs).toISOString();
    // Published in this record's turn (so in record order); the acknowledgements are awaited as the
    // pending outcome, letting the next request's expansion overlap them.
    const publishes: Promise<void>[] = [];
    if (plan.remote.length > 0) {
      const body = deliveryBody(request.activity);
      const jobs: BusMessage[] = plan.remote.map((delivery) => {
        const job: DeliveryJob = {
          activityId: request.activityId,
          body,
          signAs: request.signAs,
          inbox: delivery.inbox,
          recipients: delivery.recipients,
          firstAttemptAt,
        };
        return deliveryJobsTopic.message(destinationKey(delivery.inbox), job, {
          [DeliveryHeaders.attempt]: "1",
        });
      });
      publishes.push(ctx.bus.publish(deliveryJobsTopic.name, jobs));
    }
    const localUsernames = await localRecipientsKeeping(ctx, request, plan.localUsernames);
    if (localUsernames.length > 0) {
      publishes.push(
        ctx.bus.publish(
          userInboxTopic.name,
          localUsernames.map((username) =>
            userInboxTopic.message(username, {
              username,
              activityId: request.activityId,
              activity: request.activity,
              deliveredBy: request.signAs,
              receivedAt: firstAttemptAt,
            }),
          ),
        ),
      );
    }
    const acknowledged = Promise.all(publishes).then((): HandlerOutcome => ({ kind: "ok" }));
    // Observed here too, so a failed publish is not unhandled when the steps below throw first.
    acknowledged.catch(() => {});
    await settleUnresolved(ctx, request, expanded.unresolved, expansionAttempt, nowMs);
    ctx.logger.debug(
      {
        activityId: request.activityId,
        destinations: plan.remote.length,
        local: plan.localUsernames.length,
        unresolved: expanded.unresolved.length,
        refused: expanded.refused.length,
      },
      "delivery request expanded",
    );
    return pendingOutcome(acknowledged);
  };
}

/**
 * Audience entries that did not resolve: permanent failures are dead-lettered at once; transient
 * ones (their server is down) come back later as a smaller request of their own, on the same
 * backoff schedule as deliveries, so one unreachable server does not hold up everyone else.
 */
async function settleUnresolved(
  ctx: DeliveryFanoutContext,
  request: DeliveryRequest,
  unresolved: readonly Unresolved[],
  attempt: number,
  nowMs: number,
): Promise<void> {
  const firstAttemptAt = new Date(Date.parse(request.requestedAt) || nowMs);
  const transient: Unresolved[] = [];
  for (const entry of unresolved) {
    if (entry.permanent) {
      ctx.logger.info(
        { activityId: request.activityId, uri: entry.uri, reason: entry.reason },
        "recipient not resolvable",
      );
      await ctx.deadLetters.record({
        activityId: request.activityId,
        inbox: undefined,
        recipients: [entry.uri],
        reason: `unresolvable: ${entry.reason}`,
        attempts: attempt,
        firstAttemptAt,
      });
    } else {
      transient.push(entry);
    }
  }
  if (transient.length === 0) return;
  const decision = planRetry({
    failedAttempt: attempt,
    firstAttemptAtMs: firstAttemptAt.getTime(),
    nowMs,
    settings: ctx.settings.retry,
    random: ctx.random,
  });
  if (decision.kind === "giveUp") {
    for (const entry of transient) {
      await ctx.deadLetters.record({
        activityId: request.activityId,
        inbox: undefined,
        recipients: [entry.uri],
        reason: `unresolvable: ${entry.reason} (${decision.reason})`,
        attempts: attempt,
        firstAttemptAt,
      });
    }
    return;
  }
  const remainder: DeliveryRequest = {
    ...request,
    audience: [...new Set(transient.map((entry) => entry.uri))],
  };
  await ctx.scheduler.schedule(
    deliveryRequestsTopic.name,
    deliveryRequestsTopic.message(request.activityId, remainder, {
      [DeliveryHeaders.expansionAttempt]: String(attempt + 1),
    }),
    decision.atMs,
    transient.map((entry) => entry.reason).join("; "),
  );
}
