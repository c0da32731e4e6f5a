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
  isSessionEnded,
  type KeyPackageClaimCollection,
  type KeyPackageCount,
  type MailboxItem,
  type MailboxPage,
  MimiApiError,
  ProviderApi,
  type ProviderApiOptions,
  type SessionInfo,
} from "./api.js";
export { blockTarget, listBlocks, type UserBlockInfo, unblockTarget } from "./blocks.js";
export type {
  ChangeKind,
  ChannelSummary,
  ClientEvent,
  DeviceResult,
  KeyPackageResult,
  KeyUpdatePolicy,
  MemberList,
  MimiClientOptions,
  SubmittedChange,
  SyncResult,
} from "./client-types.js";
export { fetchWithConnectTo } from "./connect-to-fetch.js";
export {
  acceptInvite,
  consentRequired,
  declineInvite,
  type InviteInfo,
  listInvites,
  setConsentRequired,
} from "./consent.js";
export {
  describeMimiContent,
  describePlaintext,
  isSimpleReaction,
  MAX_REACTION_BYTES,
  type MessageFacts,
  type MessageKind,
  type Plaintext,
  type PlaintextFormat,
  readPlaintext,
} from "./content/interpret.js";
export { type LegacyContent, normalizeMessageId } from "./content/legacy-json.js";
export {
  type ContentParseResult,
  createContent,
  createTextContent,
  Disposition,
  type Expiration,
  encodeContent,
  isMessageId,
  MAX_CBOR_DEPTH,
  MAX_MIMI_CONTENT_BYTES,
  MAX_PART_NESTING,
  MAX_PARTS,
  MIMI_CONTENT_TYPE,
  type MimiContent,
  messageIdOf,
  type NestedPart,
  type NewContent,
  nullPart,
  PartSemantics,
  parseContent,
  sealContent,
  TEXT_PLAIN,
  textPart,
} from "./content/mimi-content.js";
export {
  DEPARTURE_FALLBACK_MS,
  type Departure,
  type LeaveStatus,
  leaveActivity,
} from "./conversation/departures.js";
export {
  type ChannelMessage,
  type EarlierVersion,
  findMessage,
  MIN_ID_PREFIX,
  messageView,
  type Reaction,
  shortIdLength,
  visibleMessageId,
} from "./conversation/message-view.js";
export { DEVICE_TYPE } from "./device/channel-joins.js";
export type { DeviceRemovalResult } from "./device/device-removal.js";
export type { DeviceInfo, DeviceJoinResult } from "./device/devices.js";
export {
  checkDmEnvelope,
  checkDmSender,
  createDmGroupActivity,
  dmMessageActivity,
  isDmMessage,
  type KnownDmGroup,
} from "./dm/activities.js";
export {
  conversationKey,
  conversationLabel,
  isConversationReference,
  participantSet,
  sendingGroup,
  splitParticipants,
} from "./dm/conversation.js";
export type { DmConversation, DmPlan } from "./dm/dm-commands.js";
export { MimiClientError } from "./errors.js";
export { MimiClient } from "./mimi-client.js";
export { handleOfAcct, normalizeAcct } from "./names.js";
export { AddWaitsForConsent } from "./pending-adds.js";
export { type ServerSentEvent, SseParser } from "./sse.js";
export { mimiHome, StateStore, type StoredAccount, writeJsonAtomic } from "./state.js";
