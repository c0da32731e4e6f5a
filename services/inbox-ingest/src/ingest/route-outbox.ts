import { type ActivityEnvelope, isLocalUsername } from "@mimi/activitypub";
import { existingUsernames } from "@mimi/identity/reads";
import type { InboxIngestContext } from "../context.js";
import { targetKey } from "../domain/addressing.js";
import { isDmMessageShape } from "../domain/dm-message.js";
import { routeOutboxActivity } from "../domain/outbox-routing.js";
import { requireLocalChannel } from "./local-channel.js";
import { type IngestRequest, proceed, refuse, type StepResult } from "./pipeline.js";
import {
  type Arrival,
  channelInboxPublication,
  deliveryRequestPublication,
  type Publication,
  traceHeaders,
} from "./publications.js";

/**
 * The outbox's route step: the user must still have an account; then `routeOutboxActivity` says
 * where the activity goes (a local channel's sequencer, or delivery signed as the user or, for the
 * Delete of the user's own actor, the instance actor), and a
 * channel other than a new one must exist here.
 */
export async function routeOutbox(
  ctx: Pick<InboxIngestContext, "sql" | "urls" | "ports" | "now">,
  request: IngestRequest,
  submission: { readonly username: string; readonly actor: string; readonly activity: ActivityEnvelope },
): Promise<StepResult<Publication>> {
  const { username, actor, activity } = submission;
  // Not the cached lookup: a client whose account was just removed must be refused at once.
  const exists = isLocalUsername(username) && (await existingUsernames(ctx.sql, [username])).has(username);
  if (!exists) return refuse("unknownInbox", `no user ${username} on this provider`);

  const route = routeOutboxActivity(ctx.urls, activity);
  if (route.kind === "invalid") return refuse(route.reason, route.detail);
  const arrival: Arrival = { receivedAt: ctx.now().toISOString(), headers: traceHeaders(request.headers) };
  const dedupeTarget = targetKey({ kind: "outbox", username });
  if (route.kind === "channel") {
    const { channelId } = route;
    if (!route.newChannel) {
      const found = await requireLocalChannel(ctx, channelId, "unknownChannel");
      if (found.kind !== "continue") return found;
    }
    return proceed(
      channelInboxPublication({ channelId, activity, sender: actor, via: "outbox", dedupeTarget }, arrival),
    );
  }
  return proceed(
    deliveryRequestPublication(
      {
        activity,
        delivered: route.activity,
        audience: route.audience,
        signAs: route.signer === "instanceActor" ? ctx.urls.instanceActor : actor,
        dedupeTarget,
        // The author's other devices read their DM messages from the mailbox (docs/protocol.md 14.4).
        authorCopy: isDmMessageShape(activity),
      },
      arrival,
    ),
  );
}
