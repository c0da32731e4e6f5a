import { type ActivityEnvelope, isLocalUsername } from "@mimi/activitypub";
import { mailboxesRefusing } from "@mimi/delivery-fanout/mailbox-reads";
import type { InboxIngestContext } from "../context.js";
import type { InboxTarget } from "../domain/addressing.js";
import { type AuthorizedDelivery, type InboxRoute, routeInboxDelivery } from "../domain/inbox-routing.js";
import { type IngestLimits, recipientExcess } from "../domain/ingest-limits.js";
import { requireLocalChannel } from "./local-channel.js";
import { drop, type IngestRequest, type LogNote, proceed, refuse, type StepResult } from "./pipeline.js";
import {
  type Arrival,
  channelInboxPublication,
  type Publication,
  traceHeaders,
  userInboxPublication,
} from "./publications.js";

/**
 * The inboxes' route step: the addressee of a personal inbox must have an account; then
 * `routeInboxDelivery` says where the delivery goes, and this step checks what only the database
 * knows (which accounts exist, whether the channel is here). A delivery with nobody local to reach is
 * dropped.
 */
export async function routeInbox(
  ctx: Pick<InboxIngestContext, "urls" | "accounts" | "ports" | "now" | "sql">,
  request: IngestRequest,
  delivery: {
    readonly target: InboxTarget;
    readonly authorized: AuthorizedDelivery;
    readonly activity: ActivityEnvelope;
    /** The body's size as received: each local recipient stores a copy. */
    readonly bodyBytes: number;
  },
  limits: IngestLimits,
): Promise<StepResult<Publication>> {
  const { target, authorized, activity } = delivery;
  if (target.kind === "user") {
    const { username } = target;
    const exists = isLocalUsername(username) && (await ctx.accounts.existing([username])).has(username);
    if (!exists) return refuse("unknownInbox", `no user ${username} on this provider`);
  }
  const route = routeInboxDelivery(ctx.urls, target, authorized, activity);
  const arrival: Arrival = { receivedAt: ctx.now().toISOString(), headers: traceHeaders(request.headers) };
  switch (route.kind) {
    case "invalid":
      return refuse(route.reason, route.detail);
    case "channel": {
      const found = await requireLocalChannel(ctx, route.channelId, "unknownInbox");
      if (found.kind !== "continue") return found;
      const { channelId, via, dedupeTarget } = route;
      return proceed(
        channelInboxPublication(
          { channelId, activity, sender: authorized.sender, via, dedupeTarget },
          arrival,
        ),
      );
    }
    case "owner": {
      if ((await mailboxesRefusing(ctx.sql, [route.username])).has(route.username))
        return refuse("mailboxFull", `the mailbox of ${route.username} is full`);
      return proceed(
        userInboxPublication(
          {
            activity,
            recipients: [route.username],
            deliveredBy: authorized.sender,
            dedupeTarget: route.dedupeTarget,
          },
          arrival,
        ),
      );
    }
    case "forward":
    case "addressed": {
      const existing = await ctx.accounts.existing(route.candidates);
      const found = route.candidates.filter((name) => existing.has(name));
      if (found.length === 0) return drop("noLocalRecipient", nobodyLocal(route, activity, authorized));
      // Refused whole rather than cut short: the sender learns that nobody here got it.
      const excess = recipientExcess(found.length, delivery.bodyBytes, limits);
      if (excess !== undefined) return refuse("tooManyRecipients", excess);
      const full = await mailboxesRefusing(ctx.sql, found);
      const recipients = found.filter((name) => !full.has(name));
      if (recipients.length === 0)
        return refuse("mailboxFull", `the mailboxes of ${[...full].join(", ")} are full`);
      return proceed(
        userInboxPublication(
          { activity, recipients, deliveredBy: authorized.sender, dedupeTarget: route.dedupeTarget },
          arrival,
        ),
      );
    }
  }
}

/** The log line of a delivery that reaches nobody here. */
function nobodyLocal(
  route: Extract<InboxRoute, { kind: "forward" | "addressed" }>,
  activity: ActivityEnvelope,
  authorized: AuthorizedDelivery,
): LogNote {
  const about = { activityId: activity.id, type: activity.type };
  return route.kind === "forward"
    ? {
        level: "info",
        message: "channel forward has no local recipient; dropped",
        fields: { ...about, channel: route.channel },
      }
    : {
        level: "info",
        message: "shared inbox delivery addresses no local user; dropped",
        fields: { ...about, sender: authorized.sender },
      };
}
