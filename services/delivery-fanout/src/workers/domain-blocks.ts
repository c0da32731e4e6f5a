import type { DeliveryFanoutContext } from "../context.js";

/** Reason recorded when a delivery to a domain the operator blocked is given up without a request. */
export const DOMAIN_BLOCKED = "domainBlocked";

/**
 * The local recipients of a user's own delivery (one of this provider's users writing to another) who
 * did not block its signer. A channel's deliveries go to every member: they carry the channel's order
 * (docs/trust-model.md, "Blocks"). Withheld recipients are logged, never told to the sender.
 */
export async function localRecipientsKeeping(
  ctx: Pick<DeliveryFanoutContext, "userBlocks" | "urls" | "logger">,
  request: { activityId: string; signAs: string },
  usernames: readonly string[],
): Promise<readonly string[]> {
  if (usernames.length === 0 || request.signAs.startsWith(ctx.urls.channel(""))) return usernames;
  const kept: string[] = [];
  const withheld: string[] = [];
  for (const username of usernames) {
    ((await ctx.userBlocks.blocks(username, request.signAs)) ? withheld : kept).push(username);
  }
  if (withheld.length > 0) {
    ctx.logger.info(
      { activityId: request.activityId, signAs: request.signAs, withheld },
      "delivery withheld from local recipients who blocked its author",
    );
  }
  return kept;
}
