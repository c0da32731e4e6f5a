export {
  type ChannelMembershipOptions,
  createChannelMembership,
  type LocalChannelFollowers,
  MembershipReadError,
} from "./adapters/channel-membership.js";
export { inboxIngestConfigSpec, inboxRateLimitConfigSpec } from "./config.js";
export {
  channelReadPorts,
  createInboxIngestContext,
  type InboxIngestContext,
  type InboxIngestDeps,
  type InboxIngestPorts,
  type InboxIngestSettings,
} from "./context.js";
export {
  addressedLocalUsernames,
  type InboxTarget,
  localChannelIdOf,
  localUsernameOf,
  targetKey,
} from "./domain/addressing.js";
export {
  authorizeInboxDelivery,
  type InboxAuthorization,
  type InboxAuthorizationPorts,
  type InboxDenyReason,
  type InboxSigner,
} from "./domain/authorization.js";
export {
  type ChannelMembersRead,
  changesMembership,
  channelFollowersUrl,
  forwardRecipients,
  isAddressedToChannelFollowers,
  sharedInboxChannelOf,
} from "./domain/channel-forwarding.js";
export { type CollectionPage, readCollectionPage } from "./domain/collection.js";
export { type OutboxRoute, type OutboxRoutingProblem, routeOutboxActivity } from "./domain/outbox-routing.js";
export { createInboxIngestService, inboxIngestService } from "./factory.js";
export { createSeenActivities, type DeliveryKey, type SeenActivities } from "./ingest/seen-activities.js";
export { inboxIngestMigrations } from "./migrations.js";
export { inboxIngestRouter } from "./router.js";
export { startInboxIngestWorkers } from "./workers.js";
