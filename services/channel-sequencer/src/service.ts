export {
  type AcctResolver,
  createAcctResolver,
  selfLink,
  staticAcctResolver,
} from "./adapters/acct-resolver.js";
export {
  type CredentialAuthority,
  type CredentialCheck,
  createCredentialAuthority,
  providerIssuers,
} from "./adapters/credential-authority.js";
export { channelSequencerConfigSpec } from "./config.js";
export {
  type ChannelSequencerContext,
  type ChannelSequencerDeps,
  type ChannelSequencerSettings,
  createChannelSequencerContext,
} from "./context.js";
export {
  type ChannelResource,
  decideReaderAccess,
  type Reader,
  type ReaderAccess,
  type ReaderBasis,
  type RemovedMember,
} from "./domain/access.js";
export {
  channelIdForGroupId,
  isWellFormedChannelId,
  localChannelIdOf,
  localChannelIdOfFollowers,
} from "./domain/identifiers.js";
export {
  checkKeyUpdateCommit,
  checkKeyUpdateEpoch,
  checkKeyUpdateSubmitter,
  type KeyUpdateCheck,
  type KeyUpdateReason,
  type VerifiedKeyUpdate,
} from "./domain/key-update.js";
export {
  type AssignableRole,
  type ChannelAction,
  type ChannelRole,
  checkAssignableRole,
  checkPermission,
  type RoleTable,
  rolesDocument,
  roleTableOf,
} from "./domain/roles.js";
export {
  type ChannelMember,
  checkChannelName,
  checkMessageEpoch,
  followersOf,
  planMembershipChange,
} from "./domain/rules.js";
export { readSubmission, type Submission } from "./domain/submission.js";
export { channelSequencerService, createChannelSequencerService } from "./factory.js";
export { channelSequencerMigrations } from "./migrations.js";
export { channelSequencerRouter } from "./router.js";
export { handleChannelInboxItem } from "./sequencer/process.js";
export {
  type ChannelChange,
  type ChannelStore,
  createChannelStore,
  type PermissionCheck,
} from "./sequencer/store.js";
export { CHANNEL_SEQUENCER_GROUP, startChannelSequencerWorkers } from "./workers.js";
