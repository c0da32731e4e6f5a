import {
  createDomainBlocks,
  createUserBlocks,
  type DomainBlocks,
  type UserBlocksView,
} from "@mimi/identity/reads";
import { currentServiceRuntime } from "@mimi/service-kit";
import type { DeliveryFanoutContext } from "../context.js";

/** Reason recorded when a delivery to a domain the operator blocked is given up without a request. */
export const DOMAIN_BLOCKED = "domainBlocked";

/** One cached view of the operator's blocks per context (it reads identity's table every 10 s). */
const blocksOfContext = new WeakMap<object, DomainBlocks>();

export function domainBlocksOf(ctx: Pick<DeliveryFanoutContext, "sql">): DomainBlocks {
  let blocks = blocksOfContext.get(ctx);
  if (!blocks) {
    blocks = createDomainBlocks(ctx.sql);
    blocksOfContext.set(ctx, blocks);
  }
  return blocks;
}

/**
 * Counts what was not sent because of a domain block, by where it stopped (`expand`: an audience
 * entry; `send`: a job), in the process's registry when the service runs inside its runtime.
 */
export function countBlocked(stage: "expand" | "send", count = 1): void {
  currentServiceRuntime()
    ?.metrics.counter(
      "delivery_blocked_domain_total",
      "audience entries and deliveries dropped because their domain is blocked",
      ["stage"],
    )
    .inc({ stage }, count);
}

/** One cached view of the users' blocks per context (each user's list at most 10 s old). */
const userBlocksOfContext = new WeakMap<object, UserBlocksView>();

/**
 * The local recipients of a user's own delivery (one of this provider's users writing to another) who
 * did not block its signer. A channel's deliveries go to every member: they carry the channel's order
 * (docs/trust-model.md, "Blocks"). Withheld recipients are logged, never told to the sender.
 */
export async function localRecipientsKeeping(
  ctx: Pick<DeliveryFanoutContext, "sql" | "urls" | "logger">,
  request: { activityId: string; signAs: string },
  usernames: readonly string[],
): Promise<readonly string[]> {
  if (usernames.length === 0 || request.signAs.startsWith(ctx.urls.channel(""))) return usernames;
  let view = userBlocksOfContext.get(ctx);
  if (!view) {
    view = createUserBlocks(ctx.sql);
    userBlocksOfContext.set(ctx, view);
  }
  const kept: string[] = [];
  const withheld: string[] = [];
  for (const username of usernames) {
    ((await view.blocks(username, request.signAs)) ? withheld : kept).push(username);
  }
  if (withheld.length > 0) {
    ctx.logger.info(
      { activityId: request.activityId, signAs: request.signAs, withheld },
      "delivery withheld from local recipients who blocked its author",
    );
  }
  return kept;
}
