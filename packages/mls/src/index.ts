export * from "./client.js";
export {
  type CachingProviderOptions,
  createCachingCryptoProvider,
  DEFAULT_CIPHERSUITE,
  loadCiphersuite,
} from "./crypto.js";
export {
  applyCommit,
  applyExternalCommit,
  type CommitInspection,
  type CommitSummary,
  checkGroupInfoMatches,
  decodePublicGroupState,
  type ExternalCommitSummary,
  encodePublicGroupState,
  inspectCommit,
  inspectPrivateMessage,
  type KeyPackageValidationOptions,
  type MemberInfo,
  type PublicGroupState,
  publicGroupFromGroupInfo,
  publicRoster,
  type VerifyFailure,
  type VerifyFailureReason,
  type VerifyOptions,
  type VerifyResult,
  validateKeyPackage,
} from "./public-group.js";
