import type { Subscription } from "@mimi/bus";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import type { DeliveryFanoutContext } from "./context.js";
import { expandRequestHandler } from "./workers/expand-requests.js";
import { SEND_GROUP } from "./workers/headers.js";
import { PairDispatcher } from "./workers/pair-dispatcher.js";
import { startMailboxPruner } from "./workers/prune-mailboxes.js";
import { sendJobHandler } from "./workers/send-jobs.js";
import { writeMailboxHandler } from "./workers/write-mailbox.js";

/** Consumer groups, one per kind of work, so each scales and lags independently. */
export const DeliveryFanoutGroups = {
  expand: "delivery-fanout.expand",
  send: SEND_GROUP,
  mailbox: "delivery-fanout.mailbox",
} as const;

/**
 * Subscribes the three consumers, starts the mailbox pruner (retention) and the two pollers: held pairs that are due (released onto
 * `delivery.jobs`, see `adapters/held-pairs.ts`) and audience entries to expand again (see
 * `adapters/scheduled-messages.ts`). The bus's own retry topics are used only for unexpected handler
 * failures (a database outage), with short delays.
 */
export async function startDeliveryFanoutWorkers(
  ctx: DeliveryFanoutContext,
): Promise<{ stop(): Promise<void> }> {
  const retry = { delaysMs: ctx.settings.busRetryDelaysMs };
  const subscriptions: Subscription[] = [];
  const dispatcher = new PairDispatcher(ctx, {
    capacity: ctx.settings.sendWindow,
    window: ctx.settings.sendsPerDestination,
  });
  subscriptions.push(
    await ctx.bus.subscribe({
      groupId: DeliveryFanoutGroups.mailbox,
      topics: [userInboxTopic.name],
      retry,
      handle: writeMailboxHandler(ctx),
    }),
    await ctx.bus.subscribe({
      groupId: DeliveryFanoutGroups.expand,
      topics: [deliveryRequestsTopic.name],
      retry,
      handle: expandRequestHandler(ctx),
    }),
    await ctx.bus.subscribe({
      groupId: DeliveryFanoutGroups.send,
      topics: [deliveryJobsTopic.name],
      retry,
      handle: sendJobHandler(ctx, dispatcher),
    }),
  );
  const scheduler = ctx.scheduler.start(ctx.settings.schedulerPollMs, (error) =>
    ctx.logger.error({ err: error }, "releasing scheduled expansions failed"),
  );
  const releases = ctx.heldPairs.start(ctx.settings.schedulerPollMs, (error) =>
    ctx.logger.error({ err: error }, "releasing held pairs failed"),
  );
  const pruner = startMailboxPruner(ctx);
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        await Promise.all([scheduler.stop(), releases.stop(), pruner.stop()]);
        await Promise.all(subscriptions.map((subscription) => subscription.stop()));
        // Deliveries under way finish (and record their outcome) before the bus is closed.
        await dispatcher.stop();
      })();
      return stopping;
    },
  };
}
