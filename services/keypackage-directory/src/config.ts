import { DEFAULT_SCHEME_MEMORY_ENTRIES, DEFAULT_SCHEME_MEMORY_TTL_MS } from "@mimi/http-signatures";
import { rateLimitRuleSchema } from "@mimi/rate-limits";
import { type ConfigOf, parse } from "@mimi/service-kit";
import { z } from "zod";
import { DEFAULT_CIPHERSUITE_ID, parseCiphersuiteList } from "./domain/ciphersuites.js";

/** The keypackage directory's own settings, beside the provider-wide ones in @mimi/provider-config. */
export const keyPackageDirectoryConfigSpec = {
  redisUrl: {
    env: "REDIS_URL",
    schema: z.string(),
    default: "",
    description:
      "Redis for the single-use claim state (`redis://...`); empty keeps it in memory (standalone, one replica)",
  },
  redisKeyPrefix: {
    env: "MIMI_KEYPACKAGE_REDIS_PREFIX",
    schema: parse.string(),
    default: "mimi:kp:",
    description: "prefix of the claim keys in Redis (lets several providers share one Redis)",
  },
  redisCommandTimeoutMs: {
    env: "MIMI_KEYPACKAGE_REDIS_COMMAND_TIMEOUT_MS",
    schema: parse.positiveInt(),
    default: "2000",
    description:
      "longest wait for one Redis command, also while reconnecting; beyond it the request answers 503 with Retry-After",
  },
  replayMaxEntries: {
    env: "MIMI_KEYPACKAGE_REPLAY_MAX_ENTRIES",
    schema: parse.positiveInt(),
    default: "100000",
    description:
      "without Redis: most claim signatures remembered at once against replay; when full, new signed claims get 503 until the oldest expires",
  },
  ciphersuites: {
    env: "MIMI_KEYPACKAGE_CIPHERSUITES",
    schema: parse.list().transform((entries, context) => {
      const parsed = parseCiphersuiteList(entries);
      if (!parsed.ok) {
        context.addIssue({ code: "custom", message: parsed.reason });
        return z.NEVER;
      }
      return parsed.ids;
    }),
    default: String(DEFAULT_CIPHERSUITE_ID),
    description:
      "MLS ciphersuites accepted for upload and served by claims (names or numbers, comma-separated)",
  },
  maxLifetimeDays: {
    env: "MIMI_KEYPACKAGE_MAX_LIFETIME_DAYS",
    schema: parse.positiveInt(),
    default: "100",
    description: "longest accepted KeyPackage lifetime (notAfter - notBefore), in days",
  },
  uploadBatchLimit: {
    env: "MIMI_KEYPACKAGE_UPLOAD_BATCH",
    schema: parse.positiveInt(),
    default: "100",
    description: "most KeyPackages in one upload request",
  },
  maxStoredPerClient: {
    env: "MIMI_KEYPACKAGE_MAX_PER_CLIENT",
    schema: parse.positiveInt(),
    default: "500",
    description: "most unclaimed KeyPackages one client may keep stored (uploads beyond get 409)",
  },
  clockSkewSeconds: {
    env: "MIMI_KEYPACKAGE_CLOCK_SKEW_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "3600",
    description: "tolerated clock difference for claim signatures and KeyPackage notBefore",
  },
  claimLimitPerPair: {
    env: "MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_PAIR",
    schema: rateLimitRuleSchema(),
    default: "10/3600",
    description:
      "claims of one user's KeyPackages by one requesting actor per window, `POINTS/SECONDS` (0: no limit); beyond it 429 with Retry-After",
  },
  claimLimitPerOriginTarget: {
    env: "MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN_TARGET",
    schema: rateLimitRuleSchema(),
    default: "60/3600",
    description:
      "claims of one user's KeyPackages by all actors of one requesting origin (this provider's own users count as one origin) per window",
  },
  claimLimitPerOrigin: {
    env: "MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN",
    schema: rateLimitRuleSchema(),
    default: "1200/60",
    description: "server-to-server claims signed by actors of one origin per window, whatever the user",
  },
  claimLimitPerLocalUser: {
    env: "MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_USER",
    schema: rateLimitRuleSchema(),
    default: "120/300",
    description:
      "client API claims by one local user per window, whatever the user claimed (remote ones cost outbound requests)",
  },
  lastResortLimit: {
    env: "MIMI_KEYPACKAGE_LAST_RESORT_LIMIT",
    schema: rateLimitRuleSchema(),
    default: "5/3600",
    description:
      "times one client's last-resort KeyPackage is handed to one requesting origin per window; beyond it the client is listed unavailable (noKeyPackages)",
  },
  lowWatermark: {
    env: "MIMI_KEYPACKAGE_LOW_WATERMARK",
    schema: parse.nonNegativeInt(),
    default: "5",
    description:
      "a claim leaving at most this many single-use KeyPackages in a client's pool (or serving its last resort) is logged at info and counted in mimi_keypackage_pools_low_total; 0 notes only empty pools",
  },
  deletedClientSweepSeconds: {
    env: "MIMI_KEYPACKAGE_DELETED_CLIENT_SWEEP_SECONDS",
    schema: parse.nonNegativeInt(),
    default: "600",
    description:
      "how often the KeyPackages of deleted clients are deleted (also at start, and at once when a claim finds a client gone); 0: only at start and on claims",
  },
  invitesPerUser: {
    env: "MIMI_KEYPACKAGE_INVITES_PER_USER",
    schema: parse.positiveInt(),
    default: "100",
    description:
      "open invites one user who requires consent keeps at most (claims by non-contacts); further requesters are refused without an invite",
  },
  invitesPerRequester: {
    env: "MIMI_KEYPACKAGE_INVITES_PER_REQUESTER",
    schema: parse.positiveInt(),
    default: "20",
    description: "open invites one requesting actor may hold across this provider's users at once",
  },
  schemeMemoryOrigins: {
    env: "MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_ENTRIES),
    description:
      "peer origins whose signature scheme (RFC 9421 or draft-cavage) is remembered at once for key fetches, least recently used forgotten first",
  },
  schemeMemoryTtlMs: {
    env: "MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS",
    schema: parse.positiveInt(),
    default: String(DEFAULT_SCHEME_MEMORY_TTL_MS),
    description:
      "how long a peer origin's signature scheme is remembered; after it RFC 9421 is tried again where the origin publishes Ed25519 keys",
  },
};

export type KeyPackageDirectorySettings = ConfigOf<typeof keyPackageDirectoryConfigSpec>;
