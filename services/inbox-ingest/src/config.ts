import { parse } from "@mimi/service-kit";

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
};
