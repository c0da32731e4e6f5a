import type { ProviderUrls } from "@mimi/activitypub";
import { createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import type { Bus } from "@mimi/bus";
import { channelExists, channelFollowers } from "@mimi/channel-sequencer/reads";
import {
  type CachingKeyResolver,
  createCachingKeyResolver,
  createSignedGet,
  instanceKeyLoader,
  keyDocumentFetcher,
  processSchemeMemory,
  type SchemeMemory,
} from "@mimi/http-signatures";
import { createOutboundHttp } from "@mimi/outbound-http";
import type { ProviderConfig } from "@mimi/provider-config";
import { type ConfigOf, type Logger, type Metrics, readConfig } from "@mimi/service-kit";
import type { Sql, SqlExecutor } from "@mimi/store";
import { createChannelMembership, type LocalChannelFollowers } from "./adapters/channel-membership.js";
import { createDmGroupReader, type DmGroupReader } from "./adapters/dm-groups.js";
import { createReachableOrigins, type ReachableOrigins } from "./adapters/reachable-origins.js";
import { inboxIngestConfigSpec } from "./config.js";
import type { InboxAuthorizationPorts } from "./domain/authorization.js";
import { createLocalAccounts, type LocalAccounts } from "./ingest/accounts.js";
import { createIngestOutcomes, type IngestOutcomes } from "./ingest/outcomes.js";
import { createSeenActivities, type SeenActivities } from "./ingest/seen-activities.js";

export type InboxIngestSettings = ConfigOf<typeof inboxIngestConfigSpec>;

/**
 * What inbox-ingest asks of the channel sequencer's data. By default channel-sequencer's read module
 * over the provider's database, in both deployments; tests pass their own.
 */
export interface InboxIngestPorts {
  /** Whether this provider hosts the channel (the channel sequencer owns channels). */
  readonly channelExists: (channelId: string) => Promise<boolean>;
  /**
   * The members of a local channel (the channel sequencer's followers); undefined for an unknown
   * channel. Without it, activities forwarded by local channels are not accepted (they never need
   * to be: local followers are served by delivery-fanout directly).
   */
  readonly localChannelFollowers?: LocalChannelFollowers;
}

/** The ports answered by channel-sequencer's read module. */
export function channelReadPorts(sql: SqlExecutor): InboxIngestPorts {
  return {
    channelExists: (channelId) => channelExists(sql, channelId),
    localChannelFollowers: (channelId) => channelFollowers(sql, channelId),
  };
}

/** Everything inbox-ingest's handlers need, built once; tests pass overrides. */
export interface InboxIngestContext {
  urls: ProviderUrls;
  sql: Sql;
  bus: Bus;
  logger: Logger;
  tokens: TokenVerifier;
  /**
   * Resolves signature key ids (cached; fetched signed as the instance actor); `forgetOwner` drops the
   * cached keys of an actor whose deletion arrived (see ingest/deleted-actor-keys.ts).
   */
  keys: Pick<CachingKeyResolver, "resolve" | "forgetOwner">;
  /**
   * The signature scheme each peer origin reads (double-knocking) for the signed reads; bounded by
   * MIMI_INBOX_SCHEME_MEMORY_ORIGINS and MIMI_INBOX_SCHEME_MEMORY_TTL_MS.
   */
  signatureSchemes: SchemeMemory;
  seen: SeenActivities;
  /** Tells delivery that the server of a verified signer is reachable (see `createReachableOrigins`). */
  reachable: ReachableOrigins;
  /** Which local accounts exist (found ones remembered for `accountCacheSeconds`). */
  accounts: LocalAccounts;
  outcomes: IngestOutcomes;
  ports: InboxIngestPorts;
  /** Channel membership for the forwarding rule: local channels via the port, remote ones fetched and cached. */
  channelMembers: NonNullable<InboxAuthorizationPorts["channelMembers"]>;
  /** DM groups' actor documents, for the checks of a group DM's messages (signed GETs, cached). */
  dmGroups: DmGroupReader;
  settings: InboxIngestSettings;
  /** The scheme requests arrive with at the public edge (RFC 9421 `@target-uri`). */
  publicScheme: "https" | "http";
  now: () => Date;
  /** Releases the outbound HTTP client. */
  close(): Promise<void>;
}

export interface InboxIngestDeps {
  config: ProviderConfig;
  sql: Sql;
  bus: Bus;
  logger: Logger;
  metrics: Metrics;
  /** Defaults to `channelReadPorts(sql)`. */
  ports?: InboxIngestPorts;
  /** Defaults to the documented defaults of `inboxIngestConfigSpec`. */
  settings?: InboxIngestSettings;
}

export function createInboxIngestContext(
  deps: InboxIngestDeps,
  overrides: Partial<InboxIngestContext> = {},
): InboxIngestContext {
  const http = createOutboundHttp({ production: deps.config.production, connectTo: deps.config.connectTo });
  const actorKeys = createActorKeyStore(deps.sql, deps.config.keyEncryptionKey);
  const settings = deps.settings ?? readConfig(inboxIngestConfigSpec, {});
  // One signed GET for key documents, remote channels' followers and DM groups, one key load between them.
  const signatureSchemes =
    overrides.signatureSchemes ??
    processSchemeMemory({ maxEntries: settings.schemeMemoryOrigins, ttlMs: settings.schemeMemoryTtlMs });
  const signedGet = createSignedGet(http, instanceKeyLoader(actorKeys, deps.config.urls.instanceActor), {
    schemes: signatureSchemes,
  });
  const ports = deps.ports ?? channelReadPorts(deps.sql);
  const keys = createCachingKeyResolver({
    fetchKeyDocument: keyDocumentFetcher(signedGet),
    // A production provider trusts only keys fetched over TLS; refused before any lookup.
    requireHttpsKeyIds: deps.config.production,
  });
  return {
    urls: deps.config.urls,
    sql: deps.sql,
    bus: deps.bus,
    logger: deps.logger,
    tokens: createTokenVerifier(deps.sql),
    signatureSchemes,
    keys,
    channelMembers: createChannelMembership({
      urls: deps.config.urls,
      // Read through `ports` on each call, so a port wired (or replaced) later is used.
      localChannelFollowers: async (channelId) => ports.localChannelFollowers?.(channelId),
      signedGet,
      ttlMs: settings.membershipTtlSeconds * 1000,
    }),
    dmGroups: createDmGroupReader({
      signedGet,
      maxEntries: settings.dmGroupCacheEntries,
      ttlMs: settings.dmGroupCacheTtlSeconds * 1000,
      maxStaleMs: settings.dmGroupCacheMaxStaleSeconds * 1000,
      maxParticipants: settings.dmMaxParticipants,
    }),
    seen: createSeenActivities(deps.sql),
    reachable: createReachableOrigins(deps.sql),
    accounts: createLocalAccounts(deps.sql, { ttlMs: settings.accountCacheSeconds * 1000 }),
    outcomes: createIngestOutcomes(deps.metrics),
    ports,
    settings,
    publicScheme: deps.config.urls.base.startsWith("https:") ? "https" : "http",
    now: () => new Date(),
    close: () => http.close(),
    ...overrides,
  };
}
