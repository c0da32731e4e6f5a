export {
  buildCavageSigningString,
  type CavageParse,
  type CavageSignatureParams,
  parseCavageSignature,
} from "./cavage.js";
export {
  checkContentDigest,
  checkDigestHeader,
  contentDigestHeaderFor,
  type DigestCheck,
  digestHeaderFor,
} from "./digest.js";
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
  type OutgoingRequest,
  type RequestSigner,
  type SigningKey,
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
