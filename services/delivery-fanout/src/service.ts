export {
  type AudienceExpander,
  createAudienceExpander,
  type ExpandedAudience,
  type Refused,
  type Unresolved,
} from "./adapters/audience-expander.js";
export {
  createDeadLetters,
  type DeadLetter,
  type DeadLetterRecord,
  type DeadLetters,
} from "./adapters/dead-letters.js";
export {
  createDestinationHealth,
  type DestinationHealth,
  markDomainAvailable,
} from "./adapters/destination-health.js";
export {
  createHeldPairStore,
  type DeliveryToStore,
  type HeldPairStore,
  type HeldPairStoreOptions,
  type PairKey,
  type StoredDelivery,
} from "./adapters/held-pairs.js";
export {
  createLocalAccountLookup,
  type LocalAccountLookup,
  type LocalCollectionResolver,
  noLocalCollections,
} from "./adapters/local-accounts.js";
export {
  createMailboxStore,
  type MailboxItem,
  type MailboxStore,
  type NewMailboxItem,
} from "./adapters/mailbox.js";
export {
  createInProcessNotifier,
  createPgNotifier,
  MAILBOX_CHANNEL,
  type MailboxNotifier,
} from "./adapters/notifier.js";
export { createRemoteActorCache, type RemoteActorCache } from "./adapters/remote-actors.js";
export { createMessageScheduler, type MessageScheduler } from "./adapters/scheduled-messages.js";
export {
  type DeliveryFanoutConfig,
  type DeliverySettings,
  deliveryFanoutConfigSpec,
  deliverySettingsFrom,
} from "./config.js";
export {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  type DeliveryFanoutContext,
  type DeliveryFanoutDeps,
  markDomainAvailableIn,
  prepareDeliveryFanout,
} from "./context.js";
export * from "./domain/audience.js";
export * from "./domain/circuit-breaker.js";
export * from "./domain/documents.js";
export * from "./domain/domain-availability.js";
export * from "./domain/ordering.js";
export * from "./domain/pair-queue.js";
export * from "./domain/retry-policy.js";
export { createDeliveryFanoutService, deliveryFanoutService } from "./factory.js";
export { deliveryFanoutMigrations } from "./migrations.js";
export { deliveryFanoutRouter } from "./router.js";
export { DeliveryHeaders } from "./workers/headers.js";
export { DOMAIN_UNAVAILABLE } from "./workers/send-jobs.js";
export { DeliveryFanoutGroups, startDeliveryFanoutWorkers } from "./workers.js";
