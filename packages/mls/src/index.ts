export * from "./client.js";
export {
  type CachingProviderOptions,
  createCachingCryptoProvider,
  DEFAULT_CIPHERSUITE,
  loadCiphersuite,
} from "./crypto.js";
export {
  applyCommit,
  type CommitInspection,
  type CommitSummary,
  checkGroupInfoMatches,
  decodePublicGroupState,
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
