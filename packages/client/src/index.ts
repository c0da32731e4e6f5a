export {
  AccountStore,
  type ChannelRecord,
  type ChannelStatus,
  type DeviceRecord,
  type PendingChange,
  type StoredKeyPackage,
  type StoredMessage,
} from "./account-store.js";
export { type Activity, followersOf, idOf, newActivityId } from "./activities.js";
export {
  type AccountInfo,
  type ChannelLogItem,
  type ChannelLogPage,
  type ClaimedKeyPackageObject,
  type KeyPackageClaimCollection,
  type KeyPackageCount,
  type MailboxItem,
  type MailboxPage,
  MimiApiError,
  ProviderApi,
  type ProviderApiOptions,
} from "./api.js";
export type {
  ChannelSummary,
  ClientEvent,
  DeviceResult,
  KeyPackageResult,
  MemberList,
  MimiClientOptions,
  SubmittedChange,
  SyncResult,
} from "./client-types.js";
export {
  type ContentParseResult,
  createTextContent,
  encodeContent,
  type MimiContent,
  messageIdOf,
  parseContent,
  TEXT_PLAIN,
} from "./content.js";
export { MimiClientError } from "./errors.js";
export { MimiClient } from "./mimi-client.js";
export { handleOfAcct, normalizeAcct } from "./names.js";
export { type ServerSentEvent, SseParser } from "./sse.js";
export { mimiHome, StateStore, type StoredAccount, writeJsonAtomic } from "./state.js";
