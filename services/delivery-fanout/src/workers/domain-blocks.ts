import { createDomainBlocks, type DomainBlocks } from "@mimi/identity/reads";
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
