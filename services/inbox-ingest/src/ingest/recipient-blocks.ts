import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import { createUserBlocks, type UserBlocksView } from "@mimi/identity/reads";
import { userInboxTopic } from "@mimi/topics";
import type { InboxIngestContext } from "../context.js";
import type { AuthorizedDelivery } from "../domain/inbox-routing.js";
import { recipientsKeeping } from "../domain/recipient-blocks.js";
import { drop, proceed, type StepResult } from "./pipeline.js";
import type { Publication } from "./publications.js";

/** One cached view of the users' blocks per context (each user's list at most 10 s old). */
const userBlocksOfContext = new WeakMap<object, UserBlocksView>();

function userBlocksOf(ctx: Pick<InboxIngestContext, "sql">): UserBlocksView {
  let blocks = userBlocksOfContext.get(ctx);
  if (!blocks) {
    blocks = createUserBlocks(ctx.sql);
    userBlocksOfContext.set(ctx, blocks);
  }
  return blocks;
}

/**
 * The inboxes' step after routing: a direct delivery (signed by its author) is withheld from the
 * local recipients who blocked its author or the author's domain. Withholding is silent: the sender
 * gets 202 as for any delivery, so the block is not revealed; when nobody is left, nothing is
 * published. Channel forwards and submissions to channels pass unchanged.
 */
export async function withholdFromBlockingRecipients(
  ctx: Pick<InboxIngestContext, "sql">,
  publication: Publication,
  delivery: { readonly authorized: AuthorizedDelivery; readonly activity: ActivityEnvelope },
  view: UserBlocksView = userBlocksOf(ctx),
): Promise<StepResult<Publication>> {
  if (delivery.authorized.basis !== "author" || publication.topic !== userInboxTopic.name) {
    return proceed(publication);
  }
  const authors = [...new Set([delivery.authorized.sender, actorIdOf(delivery.activity)])];
  const recipients = publication.messages.map((message) => message.key);
  const blocked = new Set<string>();
  for (const username of recipients) {
    for (const author of authors) {
      if (await view.blocks(username, author)) blocked.add(username);
    }
  }
  if (blocked.size === 0) return proceed(publication);
  const { kept, withheld } = recipientsKeeping(recipients, blocked);
  const note = {
    level: "info" as const,
    message: "direct delivery withheld from recipients who blocked its author",
    fields: { activityId: delivery.activity.id, sender: delivery.authorized.sender, withheld },
  };
  if (kept.length === 0) return drop("blockedByRecipient", note);
  const keep = new Set(kept);
  return proceed({
    ...publication,
    messages: publication.messages.filter((message) => keep.has(message.key)),
  });
}
