export {
  type Acct,
  type AcctParseResult,
  formatAcct,
  handleOf,
  isLocalUsername,
  LOCAL_USERNAME,
  parseAcct,
} from "./acct.js";
export {
  type ActivityEnvelope,
  activityEnvelopeSchema,
  actorIdOf,
  audienceOf,
  PUBLIC_COLLECTION,
} from "./envelope.js";
export { isActivityContentType, wantsActivityJson } from "./negotiation.js";
export {
  canonicalAcct,
  compareCodeUnits,
  conversationKey,
  isParticipantSet,
  participantSet,
} from "./participants.js";
export { defaultPublicUrl, type ProviderUrls, providerUrls } from "./urls.js";
export {
  ACTIVITY_CONTEXT,
  ACTIVITY_JSON,
  ACTIVITYSTREAMS_CONTEXT,
  DEFAULT_CIPHERSUITE_NAME,
  JRD_JSON,
  LD_JSON_AS,
  MIMI_NAMESPACE,
  MLS_MEDIA_TYPE,
  SECURITY_CONTEXT,
} from "./vocabulary.js";
