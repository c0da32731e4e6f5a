export {
  type ClaimConfirmer,
  createClaimConfirmer,
  DEFAULT_CLAIMS_PER_STATEMENT,
} from "./claim-batcher.js";
export {
  type ClaimDeps,
  type ClaimedItem,
  type ClaimOutcome,
  type ClaimResult,
  claimUserKeyPackages,
  publishToClaimStore,
  rebuildAllPools,
  rebuildPool,
  type UnavailableClient,
  type UnavailableReason,
} from "./claim-engine.js";
export {
  type ClientListCache,
  createClientListCache,
  DEFAULT_CLIENT_LIST_CACHE_USERS,
} from "./client-lists.js";
export { type KeyPackageDirectorySettings, keyPackageDirectoryConfigSpec } from "./config.js";
export {
  type ClaimState,
  claimDepsOf,
  createClaimStateFor,
  createKeyPackageDirectoryContext,
  type KeyPackageDirectoryContext,
  type KeyPackageDirectoryDeps,
  mlsKeyPackageValidator,
  prepareKeyPackageDirectory,
} from "./context.js";
export {
  ciphersuiteId,
  ciphersuiteName,
  claimableCiphersuites,
  DEFAULT_CIPHERSUITE_ID,
  parseCiphersuiteList,
} from "./domain/ciphersuites.js";
export {
  type ClaimCollection,
  claimCollection,
  type KeyPackageObject,
  parseClaimCollection,
} from "./domain/claim-document.js";
export {
  checkUploadedKeyPackage,
  type KeyPackageValidator,
  keyPackageIdOf,
  readKeyPackageBytes,
  type UploadCheck,
  type UploadExpectations,
  type UploadRejectionReason,
} from "./domain/upload-check.js";
export {
  createKeyPackageDirectoryService,
  keyPackageDirectoryService,
} from "./factory.js";
export { poolKeyOf } from "./keypackage-rows.js";
export { createLocalIssuers } from "./local-issuers.js";
export { keyPackageDirectoryMigrations } from "./migrations.js";
export { claimRemoteKeyPackages, providerBaseUrl, type RemoteClaimDeps } from "./remote-claim.js";
export { keyPackageDirectoryRouter } from "./router.js";
