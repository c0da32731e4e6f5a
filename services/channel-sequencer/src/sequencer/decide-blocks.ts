import { createDomainBlocks, type DomainBlocks } from "@mimi/identity/reads";
import type { ChannelSequencerContext } from "../context.js";
import { blockedAddRefusal } from "../domain/blocks.js";

/** One cached view of the operator's blocks per context (it reads identity's table every 10 s). */
const blocksOfContext = new WeakMap<object, DomainBlocks>();

function blocksOf(ctx: Pick<ChannelSequencerContext, "sql">): DomainBlocks {
  let blocks = blocksOfContext.get(ctx);
  if (!blocks) {
    blocks = createDomainBlocks(ctx.sql);
    blocksOfContext.set(ctx, blocks);
  }
  return blocks;
}

/** The Reject (summary and `mimi:reason`) for an Add of `object` the blocks forbid, if any. */
export async function addBlockRefusal(
  ctx: Pick<ChannelSequencerContext, "sql">,
  object: string,
): Promise<{ summary: string; reason: string } | undefined> {
  return blockedAddRefusal(object, await blocksOf(ctx).snapshot());
}
