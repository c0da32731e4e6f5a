import { userInboxTopic } from "@mimi/topics";
import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { addressedLocalUsernames, type InboxTarget, targetKey } from "../domain/addressing.js";
import { existingUsernames } from "../ingest/accounts.js";
import { authenticateInboxDelivery } from "../ingest/authenticate.js";
import { publishOnce, traceHeaders } from "../ingest/publish-once.js";
import { bodyBytesOf, readActivity } from "../ingest/read-activity.js";

/**
 * `POST /inbox`: one signed delivery for several local users; one `user.inbox` item for each local
 * user named in `to`/`cc` that has an account. Nobody local addressed: 202, nothing published.
 */
export function sharedInbox(ctx: InboxIngestContext): RequestHandler {
  return async (req, res) => {
    const body = bodyBytesOf(req);
    const activity = readActivity(body);
    const target: InboxTarget = { kind: "shared" };
    const { sender } = await authenticateInboxDelivery(ctx, req, body, activity, target);
    const addressed = addressedLocalUsernames(ctx.urls, activity);
    const existing = await existingUsernames(ctx.sql, addressed);
    const recipients = addressed.filter((name) => existing.has(name));
    if (recipients.length === 0) {
      ctx.outcomes.dropped("sharedInbox", "noLocalRecipient");
      ctx.logger.info(
        { activityId: activity.id, type: activity.type, sender },
        "shared inbox delivery addresses no local user; dropped",
      );
      res.status(202).end();
      return;
    }
    const receivedAt = ctx.now().toISOString();
    const headers = traceHeaders(req.headers);
    await publishOnce(ctx, res, {
      route: "sharedInbox",
      key: { activityId: activity.id, target: targetKey(target), sender },
      type: activity.type,
      topic: userInboxTopic.name,
      messages: recipients.map((username) =>
        userInboxTopic.message(
          username,
          { username, activityId: activity.id, activity, deliveredBy: sender, receivedAt },
          headers,
        ),
      ),
    });
  };
}
