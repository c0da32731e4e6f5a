export {
  buildCavageSigningString,
  type CavageParse,
  type CavageSignatureParams,
  parseCavageSignature,
} from "./cavage.js";
export { claimedKeyIds, claimedKeyOrigin } from "./claimed-key-ids.js";
export {
  checkContentDigest,
  checkDigestHeader,
  contentDigestHeaderFor,
  type DigestCheck,
  digestHeaderFor,
} from "./digest.js";
export {
  createSchemeMemory,
  DEFAULT_SCHEME_MEMORY_BOUNDS,
  DEFAULT_SCHEME_MEMORY_ENTRIES,
  DEFAULT_SCHEME_MEMORY_TTL_MS,
  doubleKnock,
  type KnockResult,
  knockOrder,
  processSchemeMemory,
  publishesMultikey,
  refusesSignature,
  type SchemeMemory,
  type SchemeMemoryBounds,
  type SchemeMemoryOptions,
  schemeToRemember,
} from "./double-knock.js";
export {
  type CachingKeyResolver,
  type CachingKeyResolverOptions,
  createCachingKeyResolver,
  DEFAULT_KEY_CACHE_ENTRIES,
  DEFAULT_KEY_TTL_MS,
  DEFAULT_MIN_REFRESH_INTERVAL_MS,
  type KeyDocumentFetcher,
  type KeyDocumentFetchResult,
  type KeyResolution,
  type KeyResolver,
  keyDocumentUrl,
  parseKeyDocument,
  type ResolvedKey,
} from "./keys.js";
export { ed25519PublicKeyMultibase, importEd25519Multibase } from "./multikey.js";
export { checkKeyOwner, type KeyOwnerCheck } from "./owner.js";
export type {
  ReceivedRequest,
  SignatureAlgorithm,
  VerifiedSignature,
  VerifyFailure,
  VerifyFailureReason,
  VerifyOutcome,
} from "./request.js";
export { buildRfc9421SignatureBase, type RequestContext } from "./rfc9421.js";
export {
  createRequestSigner,
  keyForScheme,
  type OutgoingRequest,
  type RequestSigner,
  RFC9421_LABEL,
  type SignatureScheme,
  type SigningKey,
  type SignOptions,
  signRequest,
  signRequestAsync,
} from "./sign.js";
export {
  ACTIVITY_JSON_ACCEPT,
  createSignedGet,
  type InstanceKeySource,
  instanceKeyLoader,
  type SignedGet,
  type SignedGetFailureReason,
  type SignedGetOptions,
  type SignedGetResult,
  signedGetFailureDetail,
} from "./signed-get.js";
export { createSignedKeyFetcher, keyDocumentFetcher } from "./signed-key-fetcher.js";
export { defaultSigningThreads } from "./signing-threads.js";
export { type Dictionary, type InnerList, parseDictionary } from "./structured-fields.js";
export { DEFAULT_CLOCK_SKEW_SECONDS, type VerifyOptions, verifyRequest } from "./verify.js";
