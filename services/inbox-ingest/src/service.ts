export { channelExistsViaSequencer } from "./channel-lookup.js";
export { inboxIngestConfigSpec } from "./config.js";
export {
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
export { type OutboxRoute, routeOutboxActivity } from "./domain/outbox-routing.js";
export { createSeenActivities, type DeliveryKey, type SeenActivities } from "./ingest/seen-activities.js";
export { inboxIngestMigrations } from "./migrations.js";
export { inboxIngestRouter } from "./router.js";
export { startInboxIngestWorkers } from "./workers.js";
