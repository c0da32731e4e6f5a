import { defineTopic } from "@mimi/bus";
import { z } from "zod";

/**
 * The messages services exchange over the bus (docs/architecture.md). Activities travel as
 * parsed JSON objects; `body` fields keep exact bytes where a signature depends on them.
 *
 * | topic | key | producer -> consumer |
 * |---|---|---|
 * | `channel.inbox` | channel id | inbox-ingest -> channel-sequencer |
 * | `user.inbox` | local username | inbox-ingest, delivery-fanout (local recipients) -> delivery-fanout (mailbox write) |
 * | `delivery.requests` | signing actor (`deliveryRequestKey`) | inbox-ingest, channel-sequencer -> delivery-fanout (expansion) |
 * | `delivery.jobs` | destination origin | delivery-fanout -> delivery-fanout (one signed POST) |
 */
const jsonObject = z.record(z.string(), z.unknown());

export const TopicNames = {
  channelInbox: "channel.inbox",
  userInbox: "user.inbox",
  deliveryRequests: "delivery.requests",
  deliveryJobs: "delivery.jobs",
} as const;

/** How the provider came to hold the activity; decides which checks already passed. */
export const receivedViaSchema = z.enum(["outbox", "inbox", "sharedInbox", "channelInbox"]);

export const channelInboxItemSchema = z.object({
  channelId: z.string().min(1),
  activity: jsonObject,
  /** The actor whose token or signature authenticated the submission. */
  authenticatedActor: z.string(),
  via: receivedViaSchema,
  receivedAt: z.string(),
});
export type ChannelInboxItem = z.infer<typeof channelInboxItemSchema>;

export const userInboxItemSchema = z.object({
  username: z.string().min(1),
  activityId: z.string(),
  activity: jsonObject,
  /** Actor (or channel) whose signature delivered it. */
  deliveredBy: z.string(),
  receivedAt: z.string(),
});
export type UserInboxItem = z.infer<typeof userInboxItemSchema>;

export const deliveryRequestSchema = z.object({
  activityId: z.string(),
  activity: jsonObject,
  /** Local actor URI whose key signs the POSTs (the author, or the channel when forwarding). */
  signAs: z.string(),
  /** Actor URIs and collection URIs (followers) to deliver to; expanded by delivery-fanout. */
  audience: z.array(z.string()).max(100_000),
  /** Actor URIs never to deliver to (typically the submitter, who already has it). */
  exclude: z.array(z.string()).default([]),
  requestedAt: z.string(),
});
export type DeliveryRequest = z.infer<typeof deliveryRequestSchema>;

export const deliveryJobSchema = z.object({
  activityId: z.string(),
  /** The serialised activity: signed and sent byte for byte. */
  body: z.string(),
  signAs: z.string(),
  /** The destination inbox (a shared inbox when the destination offers one). */
  inbox: z.string(),
  /** The actors at that destination this POST serves (for logs and dead letters). */
  recipients: z.array(z.string()),
  firstAttemptAt: z.string(),
});
export type DeliveryJob = z.infer<typeof deliveryJobSchema>;

export const channelInboxTopic = defineTopic(TopicNames.channelInbox, (input) =>
  channelInboxItemSchema.parse(input),
);
export const userInboxTopic = defineTopic(TopicNames.userInbox, (input) => userInboxItemSchema.parse(input));
export const deliveryRequestsTopic = defineTopic(TopicNames.deliveryRequests, (input) =>
  deliveryRequestSchema.parse(input),
);
export const deliveryJobsTopic = defineTopic(TopicNames.deliveryJobs, (input) =>
  deliveryJobSchema.parse(input),
);

/**
 * Key of a delivery request: the actor that signs it, i.e. the channel for everything a channel forwards.
 * One channel's messages then stay on one partition, are expanded in order and reach each destination
 * in order; MLS receivers keep keys for only a few skipped generations, so reordering costs messages.
 */
export function deliveryRequestKey(request: Pick<DeliveryRequest, "signAs">): string {
  return request.signAs;
}

/** Kafka-compatible key for a destination: its origin, so one destination's jobs stay on one partition. */
export function destinationKey(inbox: string): string {
  return new URL(inbox).origin;
}
