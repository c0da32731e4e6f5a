import type { IncomingHttpHeaders } from "node:http";
import type { ActivityEnvelope } from "@mimi/activitypub";
import type { BusMessage } from "@mimi/bus";
import { channelInboxTopic, deliveryRequestKey, deliveryRequestsTopic, userInboxTopic } from "@mimi/topics";
import type { DeliveryKey } from "./seen-activities.js";

/** What a request that gets through publishes, once per dedupe key. */
export interface Publication {
  /** The dedupe key: the activity, where it counts as received, and who delivered it. */
  readonly key: DeliveryKey;
  /** The activity's type, for the logs. */
  readonly type: string;
  readonly topic: string;
  readonly messages: BusMessage[];
}

/** When and with which trace context the request arrived; the same for every item it publishes. */
export interface Arrival {
  readonly receivedAt: string;
  readonly headers: Record<string, string> | undefined;
}

/** Publisher headers carried from the request (trace context). */
export function traceHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  const traceparent = headers.traceparent;
  return typeof traceparent === "string" ? { traceparent } : undefined;
}

/**
 * One `user.inbox` item per recipient, keyed by the username, naming `deliveredBy` (the signer: the
 * author, or the channel of a forward) as the item's deliverer and as the dedupe key's sender.
 */
export function userInboxPublication(
  delivery: {
    readonly activity: ActivityEnvelope;
    readonly recipients: readonly string[];
    readonly deliveredBy: string;
    readonly dedupeTarget: string;
  },
  arrival: Arrival,
): Publication {
  const { activity, deliveredBy } = delivery;
  return {
    key: { activityId: activity.id, target: delivery.dedupeTarget, sender: deliveredBy },
    type: activity.type,
    topic: userInboxTopic.name,
    messages: delivery.recipients.map((username) =>
      userInboxTopic.message(
        username,
        { username, activityId: activity.id, activity, deliveredBy, receivedAt: arrival.receivedAt },
        arrival.headers,
      ),
    ),
  };
}

/** One `channel.inbox` item keyed by the channel, for its sequencer. */
export function channelInboxPublication(
  submission: {
    readonly channelId: string;
    readonly activity: ActivityEnvelope;
    /** Who authenticated the submission (token or signature). */
    readonly sender: string;
    readonly via: "outbox" | "sharedInbox" | "channelInbox";
    readonly dedupeTarget: string;
  },
  arrival: Arrival,
): Publication {
  const { channelId, activity, sender } = submission;
  return {
    key: { activityId: activity.id, target: submission.dedupeTarget, sender },
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
          receivedAt: arrival.receivedAt,
        },
        arrival.headers,
      ),
    ],
  };
}

/** One `delivery.requests` item signed as the author, keyed by it so its activities keep their order. */
export function deliveryRequestPublication(
  request: {
    readonly activity: ActivityEnvelope;
    /** The activity as delivered (`bto`/`bcc` removed by outbox routing). */
    readonly delivered: Record<string, unknown>;
    readonly audience: readonly string[];
    readonly signAs: string;
    readonly dedupeTarget: string;
    /** Whether the author's own mailbox gets a copy too (a DM message, for their other devices). */
    readonly authorCopy?: boolean;
  },
  arrival: Arrival,
): Publication {
  const { activity, signAs } = request;
  return {
    key: { activityId: activity.id, target: request.dedupeTarget, sender: signAs },
    type: activity.type,
    topic: deliveryRequestsTopic.name,
    messages: [
      deliveryRequestsTopic.message(
        deliveryRequestKey({ signAs }),
        {
          activityId: activity.id,
          activity: request.delivered,
          signAs,
          audience: [...request.audience],
          exclude: request.authorCopy ? [] : [signAs],
          requestedAt: arrival.receivedAt,
        },
        arrival.headers,
      ),
    ],
  };
}

/** What the log lines about a publication name (never its messages: they carry the bodies). */
export function publicationLogFields(publication: Publication) {
  const { key } = publication;
  return { activityId: key.activityId, type: publication.type, target: key.target, sender: key.sender };
}
