/** JSON-LD contexts and media types of the wire profile (docs/protocol.md). */
export const ACTIVITYSTREAMS_CONTEXT = "https://www.w3.org/ns/activitystreams";
export const SECURITY_CONTEXT = "https://w3id.org/security/v1";
/** Namespace IRI of the `mimi:` extension terms. */
export const MIMI_NAMESPACE = "https://w3id.org/mimi-activitypub/ns#";

export const ACTIVITY_CONTEXT = [
  ACTIVITYSTREAMS_CONTEXT,
  SECURITY_CONTEXT,
  { mimi: MIMI_NAMESPACE, keyPackages: { "@id": "mimi:keyPackages", "@type": "@id" } },
] as const;

export const ACTIVITY_JSON = "application/activity+json";
export const LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"';
export const JRD_JSON = "application/jrd+json";
export const MLS_MEDIA_TYPE = "message/mls";

export const DEFAULT_CIPHERSUITE_NAME = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";
