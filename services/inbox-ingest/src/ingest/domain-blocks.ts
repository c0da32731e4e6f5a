import { actorIdOf } from "@mimi/activitypub";
import { createDomainBlocks, type DomainBlocks } from "@mimi/identity/reads";
import type { InboxIngestContext } from "../context.js";
import { partiesOfDelivery } from "../domain/blocked-senders.js";
import { type IngestRequest, proceed, refuse, type StepResult } from "./pipeline.js";
import type { ReceivedActivity } from "./read-activity.js";

/** One cached view of the operator's blocks per context (it reads identity's table every 10 s). */
const blocksOfContext = new WeakMap<object, DomainBlocks>();

function blocksOf(ctx: Pick<InboxIngestContext, "sql">): DomainBlocks {
  let blocks = blocksOfContext.get(ctx);
  if (!blocks) {
    blocks = createDomainBlocks(ctx.sql);
    blocksOfContext.set(ctx, blocks);
  }
  return blocks;
}

/**
 * The inboxes' domain-block step, between reading and the signature: a request whose key ids or
 * actor are on a domain the operator blocked is refused before any key is fetched, so a blocked
 * server cannot make this provider call it back, nor spend its key cache.
 */
export async function refuseBlockedDomains(
  ctx: Pick<InboxIngestContext, "sql">,
  request: IngestRequest,
  received: ReceivedActivity,
  blocks: DomainBlocks = blocksOf(ctx),
): Promise<StepResult<void>> {
  for (const party of partiesOfDelivery(request.headers, actorIdOf(received.activity))) {
    if (await blocks.blocks(party)) {
      return refuse("domainBlocked", "this provider does not accept activities from that domain", {
        note: {
          level: "info",
          message: "inbox delivery from a blocked domain refused",
          fields: { activityId: received.activity.id, party },
        },
      });
    }
  }
  return proceed(undefined);
}
