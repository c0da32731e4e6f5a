import { DEFAULT_SCHEME_MEMORY_ENTRIES, DEFAULT_SCHEME_MEMORY_TTL_MS } from "@mimi/http-signatures";
import { rateLimitRuleSchema, rateLimitStoreConfigSpec } from "@mimi/rate-limits";
import { type ConfigOf, parse } from "@mimi/service-kit";

/** The request rate limits of the inboxes and outboxes, and where they count. */
export const inboxRateLimitConfigSpec = {
  ...rateLimitStoreConfigSpec,
  inboxPerAddress: {
    env: "MIMI_INBOX_LIMIT_PER_ADDRESS",
    schema: rateLimitRuleSchema(),
    default: "30000/60",
    description:
      "inbox POSTs per client address and window, counted before the body is read or the signature checked, `POINTS/SECONDS` (0: no limit)",
  },
  inboxPerOrigin: {
    env: "MIMI_INBOX_LIMIT_PER_ORIGIN",
    schema: rateLimitRuleSchema(),
    default: "30000/60",
    description:
      "accepted inbox POSTs signed by one origin per window; once spent, that origin's POSTs get 429 before their body is read",
  },
  outboxPerUser: {
    env: "MIMI_OUTBOX_LIMIT_PER_USER",
    schema: rateLimitRuleSchema(),
    default: "600/60",
    description: "accepted outbox POSTs of one local user per window; once spent, the user's POSTs get 429",
  },
};

export type InboxRateLimitSettings = ConfigOf<typeof inboxRateLimitConfigSpec>;

/** inbox-ingest's own settings, beside the provider-wide ones in @mimi/provider-config. */
export const inboxIngestConfigSpec = {
  bodyLimitBytes: {
    env: "MIMI_INBOX_BODY_LIMIT",
    schema: parse.positiveInt(),
    default: String(4 * 1024 * 1024),
    description: "largest accepted inbox/outbox POST body, in bytes (larger bodies get 413)",
  },
  clockSkewSeconds: {
    env: "MIMI_INBOX_CLOCK_SKEW_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "3600",
    description:
      "tolerated clock difference when checking a signature's Date/created/expires (Mastodon uses one hour)",
  },
  dedupeRetentionHours: {
    env: "MIMI_INBOX_DEDUPE_RETENTION_HOURS",
    schema: parse.positiveInt(),
    default: String(14 * 24),
    description: "how long an accepted activity id is remembered to recognise redeliveries",
  },
  accountCacheSeconds: {
    env: "MIMI_INBOX_ACCOUNT_CACHE_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "30",
    description:
      "how long an existing local account is remembered (unknown names are always looked up, so new accounts are found at once)",
  },
  membershipTtlSeconds: {
    env: "MIMI_INBOX_MEMBERSHIP_TTL_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "30",
    description:
      "how long a remote channel's member list (its followers collection) is reused to check forwarded activities",
  },
  // What one request may cost this provider: addresses it names, local users it reaches, mailbox bytes it writes.
  maxAddresses: {
    env: "MIMI_INBOX_MAX_ADDRESSES",
    schema: parse.positiveInt(),
    default: "1000",
    description:
      "entries in to, cc, bto, bcc and audience together that one activity may name (more: 400 tooManyAddresses)",
  },
  maxRecipients: {
    env: "MIMI_INBOX_MAX_RECIPIENTS",
    schema: parse.positiveInt(),
    default: "1000",
    description: "local users one inbox delivery may reach (more: 413 tooManyRecipients)",
  },
  maxCopyBytes: {
    env: "MIMI_INBOX_MAX_COPY_BYTES",
    schema: parse.positiveInt(),
    default: String(64 * 1024 * 1024),
    description:
      "body size times the local users one inbox delivery reaches: the mailbox bytes one request may write (more: 413 tooManyRecipients)",
  },
  // Group DMs (docs/protocol.md section 14): what a direct-addressed message is checked against.
  dmMaxParticipants: {
    env: "MIMI_DM_MAX_PARTICIPANTS",
    schema: parse.positiveInt(),
    default: "32",
    description:
      "participants a group DM may have; a DM message addressed to more is refused (400 dmMalformed)",
  },
  dmEpochWindow: {
    env: "MIMI_DM_EPOCH_WINDOW",
    schema: parse.nonNegativeInt(),
    default: "1",
    description:
      "epochs before its DM group's current one a DM message may still be for (older: 409 dmEpochOutOfWindow)",
  },
  dmGroupCacheEntries: {
    env: "MIMI_DM_GROUP_CACHE_ENTRIES",
    schema: parse.positiveInt(),
    default: "10000",
    description: "DM groups' actor documents kept in memory (the least recently read is dropped)",
  },
  dmGroupCacheTtlSeconds: {
    env: "MIMI_DM_GROUP_CACHE_TTL_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "60",
    description: "how long a DM group's actor document is used before it is read again",
  },
  dmGroupCacheMaxStaleSeconds: {
    env: "MIMI_DM_GROUP_CACHE_MAX_STALE_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "86400",
    description:
      "how long past its TTL a DM group's document is still used while the group's provider cannot be reached, so messages keep flowing",
  },
  schemeMemoryOrigins: {
    env: "MIMI_INBOX_SCHEME_MEMORY_ORIGINS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_ENTRIES),
    description:
      "peer origins whose signature scheme (RFC 9421 or draft-cavage) is remembered at once for signed key, followers and DM group reads, least recently used forgotten first",
  },
  schemeMemoryTtlMs: {
    env: "MIMI_INBOX_SCHEME_MEMORY_TTL_MS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_TTL_MS),
    description:
      "how long a peer origin's signature scheme is remembered; after it RFC 9421 is tried again where the origin publishes Ed25519 keys",
  },
  ...inboxRateLimitConfigSpec,
};
