import { DEFAULT_SCHEME_MEMORY_ENTRIES, DEFAULT_SCHEME_MEMORY_TTL_MS } from "@mimi/http-signatures";
import { parse } from "@mimi/service-kit";

/** The channel sequencer's own settings, beside the provider-wide ones in @mimi/provider-config. */
export const channelSequencerConfigSpec = {
  epochWindow: {
    env: "MIMI_CHANNEL_EPOCH_WINDOW",
    schema: parse.nonNegativeInt(),
    default: "1",
    description:
      "how many epochs before the current one a PrivateMessage may be for (1: current or previous; 0: current only)",
  },
  logPageLimit: {
    env: "MIMI_CHANNEL_LOG_PAGE_LIMIT",
    schema: parse.positiveInt(),
    default: "100",
    description: "most log entries one `GET C/log` page returns (also the default page size)",
  },
  clockSkewSeconds: {
    env: "MIMI_CHANNEL_CLOCK_SKEW_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "3600",
    description: "tolerated clock difference when checking the signature of a signed GET",
  },
  removedReaderGraceSeconds: {
    env: "MIMI_CHANNEL_REMOVED_READER_GRACE_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "600",
    description:
      "how long after a member's removal their server may still read `GET C/followers` (to check the Remove); 0: not at all",
  },
  acctCacheSeconds: {
    env: "MIMI_CHANNEL_ACCT_CACHE_SECONDS",
    schema: parse.positiveInt(),
    default: "3600",
    description: "how long a remote acct -> actor URL WebFinger answer is reused",
  },
  maxMessageBytes: {
    env: "MIMI_CHANNEL_MAX_MESSAGE_BYTES",
    schema: parse.positiveInt(),
    default: String(256 * 1024),
    description: "largest PrivateMessage (its MLS bytes) a channel forwards; larger ones are Rejected",
  },
  messageBurst: {
    env: "MIMI_CHANNEL_MESSAGE_BURST",
    schema: parse.positiveInt(),
    default: "30",
    description: "messages one member may send to a channel at once before the rate applies",
  },
  messagesPerMinute: {
    env: "MIMI_CHANNEL_MESSAGES_PER_MINUTE",
    schema: parse.positiveInt(),
    default: "60",
    description: "messages per minute one member may send to a channel, sustained; faster ones are Rejected",
  },
  dmMaxParticipants: {
    env: "MIMI_CHANNEL_DM_MAX_PARTICIPANTS",
    schema: parse.positiveInt(),
    default: "32",
    description:
      "participants a group DM's MLS group may have; a DM Create listing more is Rejected (dmParticipantsInvalid)",
  },
  schemeMemoryOrigins: {
    env: "MIMI_CHANNEL_SCHEME_MEMORY_ORIGINS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_ENTRIES),
    description:
      "peer origins whose signature scheme (RFC 9421 or draft-cavage) is remembered at once for signed key and relayed channel reads, least recently used forgotten first",
  },
  schemeMemoryTtlMs: {
    env: "MIMI_CHANNEL_SCHEME_MEMORY_TTL_MS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_TTL_MS),
    description:
      "how long a peer origin's signature scheme is remembered; after it RFC 9421 is tried again where the origin publishes Ed25519 keys",
  },
};
