import type { Subscription } from "@mimi/bus";
import { deliveryJobsTopic, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import type { DeliveryFanoutContext } from "./context.js";
import { DestinationQueues } from "./workers/destination-queues.js";
import { expandRequestHandler } from "./workers/expand-requests.js";
import { SEND_GROUP } from "./workers/headers.js";
import { sendJobHandler } from "./workers/send-jobs.js";
import { writeMailboxHandler } from "./workers/write-mailbox.js";

/** Consumer groups, one per kind of work, so each scales and lags independently. */
export const DeliveryFanoutGroups = {
  expand: "delivery-fanout.expand",
  send: SEND_GROUP,
  mailbox: "delivery-fanout.mailbox",
} as const;

/**
 * Subscribes the three consumers and starts the retry scheduler. The bus's own retry topics are
 * used only for unexpected handler failures (a database outage), with short delays; delivery
 * retries are scheduled per job (see `adapters/scheduled-messages.ts`).
 */
export async function startDeliveryFanoutWorkers(
  ctx: DeliveryFanoutContext,
): Promise<{ stop(): Promise<void> }> {
  const retry = { delaysMs: ctx.settings.busRetryDelaysMs };
  const subscriptions: Subscription[] = [];
  // Above 1, jobs are sent concurrently and their offsets wait for their outcomes (MIMI_DELIVERY_SEND_WINDOW).
  const queues =
    ctx.settings.sendWindow > 1
      ? new DestinationQueues(ctx.settings.sendWindow, ctx.settings.sendsPerDestination)
      : undefined;
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
      handle: sendJobHandler(ctx, queues),
    }),
  );
  const scheduler = ctx.scheduler.start(ctx.settings.schedulerPollMs, (error) =>
    ctx.logger.error({ err: error }, "releasing scheduled deliveries failed"),
  );
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        await scheduler.stop();
        await Promise.all(subscriptions.map((subscription) => subscription.stop()));
        // Accepted deliveries finish (and record their outcome) before the bus is closed.
        await queues?.drain();
      })();
      return stopping;
    },
  };
}
