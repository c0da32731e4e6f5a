import type { ActivityEnvelope } from "@mimi/activitypub";
import { channelInboxTopic, userInboxTopic } from "@mimi/topics";
import type { Request, Response } from "express";
import type { InboxIngestContext } from "../context.js";
import { targetKey } from "../domain/addressing.js";
import { forwardRecipients } from "../domain/channel-forwarding.js";
import type { IngestRoute } from "./outcomes.js";
import { publishOnce, traceHeaders } from "./publish-once.js";
import { rejection } from "./rejections.js";

const MAX_CHANNEL_ID_LENGTH = 200;

/** 404 unless this provider hosts the channel; 503 when the channel sequencer cannot be asked. */
export async function requireLocalChannel(
  ctx: InboxIngestContext,
  channelId: string,
  reason: "unknownInbox" | "unknownChannel" = "unknownInbox",
): Promise<void> {
  let exists: boolean;
  try {
    exists = channelId.length <= MAX_CHANNEL_ID_LENGTH && (await ctx.ports.channelExists(channelId));
  } catch (error) {
    ctx.logger.warn({ err: error, channelId }, "channel lookup failed");
    throw rejection(503, "channelLookupFailed", "could not check the channel; retry later", {
      headers: { "retry-after": "30" },
    });
  }
  if (!exists) throw rejection(404, reason, `no channel ${channelId} on this provider`);
}

/** One `channel.inbox` item keyed by the channel, for its sequencer. */
export async function publishToChannel(
  ctx: InboxIngestContext,
  req: Request,
  res: Response,
  submission: {
    route: IngestRoute;
    channelId: string;
    activity: ActivityEnvelope;
    /** Who authenticated the submission (token or signature). */
    sender: string;
    via: "outbox" | "sharedInbox" | "channelInbox";
    /** The dedupe key's target; defaults to the channel. */
    dedupeTarget?: string;
  },
): Promise<void> {
  const { channelId, activity, sender } = submission;
  await publishOnce(ctx, res, {
    route: submission.route,
    key: {
      activityId: activity.id,
      target: submission.dedupeTarget ?? targetKey({ kind: "channel", channelId }),
      sender,
    },
    type: activity.type,
    topic: channelInboxTopic.name,
    messages: [
      channelInboxTopic.message(
        channelId,
        {
          channelId,
          activity,
          authenticatedActor: sender,
          via: submission.via,
          receivedAt: ctx.now().toISOString(),
        },
        traceHeaders(req.headers),
      ),
    ],
  });
}

/**
 * A channel's forward of a member's activity (docs/channels.md, Receiving a forwarded activity): one
 * `user.inbox` item per local recipient, i.e. the local users among the channel's members and the
 * local object of an Add or Remove. The personal inbox it was POSTed to adds nobody: a channel
 * reaches only its members (and the member an Add or Remove is about). The dedupe key
 * is the channel's forward, not the inbox: when the channel's server POSTs it to several personal
 * inboxes here, the first POST already served every local recipient.
 */
export async function publishForwarded(
  ctx: InboxIngestContext,
  req: Request,
  res: Response,
  forward: {
    route: IngestRoute;
    activity: ActivityEnvelope;
    channel: string;
    members: readonly string[];
  },
): Promise<void> {
  const { activity, channel } = forward;
  const candidates = forwardRecipients(ctx.urls, activity, forward.members);
  const existing = await ctx.accounts.existing(candidates);
  const recipients = candidates.filter((name) => existing.has(name));
  if (recipients.length === 0) {
    ctx.outcomes.dropped(forward.route, "noLocalRecipient");
    ctx.logger.info(
      { activityId: activity.id, type: activity.type, channel },
      "channel forward has no local recipient; dropped",
    );
    res.status(202).end();
    return;
  }
  const receivedAt = ctx.now().toISOString();
  const headers = traceHeaders(req.headers);
  await publishOnce(ctx, res, {
    route: forward.route,
    key: { activityId: activity.id, target: targetKey({ kind: "channelForward", channel }), sender: channel },
    type: activity.type,
    topic: userInboxTopic.name,
    messages: recipients.map((username) =>
      userInboxTopic.message(
        username,
        { username, activityId: activity.id, activity, deliveredBy: channel, receivedAt },
        headers,
      ),
    ),
  });
}
