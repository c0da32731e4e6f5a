import type { ProviderUrls } from "@mimi/activitypub";
import { type ActorKeyStore, createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import type { Bus } from "@mimi/bus";
import {
  createCachingKeyResolver,
  createSignedKeyFetcher,
  type KeyDocumentFetcher,
  type KeyResolver,
} from "@mimi/http-signatures";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import type { ProviderConfig } from "@mimi/provider-config";
import { type ConfigOf, type Logger, type Metrics, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { inboxIngestConfigSpec } from "./config.js";
import type { InboxAuthorizationPorts } from "./domain/authorization.js";
import { createIngestOutcomes, type IngestOutcomes } from "./ingest/outcomes.js";
import { createSeenActivities, type SeenActivities } from "./ingest/seen-activities.js";

export type InboxIngestSettings = ConfigOf<typeof inboxIngestConfigSpec>;

/** What inbox-ingest asks other parts of the provider. */
export interface InboxIngestPorts extends InboxAuthorizationPorts {
  /** Whether this provider hosts the channel (the channel sequencer owns channels). */
  readonly channelExists: (channelId: string) => Promise<boolean>;
}

/** Everything inbox-ingest's handlers need, built once; tests pass overrides. */
export interface InboxIngestContext {
  urls: ProviderUrls;
  sql: Sql;
  bus: Bus;
  logger: Logger;
  tokens: TokenVerifier;
  /** Resolves signature key ids (cached; fetched signed as the instance actor). */
  keys: KeyResolver;
  seen: SeenActivities;
  outcomes: IngestOutcomes;
  ports: InboxIngestPorts;
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
  ports: InboxIngestPorts;
  /** Defaults to the documented defaults of `inboxIngestConfigSpec`. */
  settings?: InboxIngestSettings;
}

export function createInboxIngestContext(
  deps: InboxIngestDeps,
  overrides: Partial<InboxIngestContext> = {},
): InboxIngestContext {
  const http = createOutboundHttp({ production: deps.config.production, connectTo: deps.config.connectTo });
  const actorKeys = createActorKeyStore(deps.sql, deps.config.keyEncryptionKey);
  return {
    urls: deps.config.urls,
    sql: deps.sql,
    bus: deps.bus,
    logger: deps.logger,
    tokens: createTokenVerifier(deps.sql),
    keys: createCachingKeyResolver({
      fetchKeyDocument: instanceSignedFetcher(http, actorKeys, deps.config.urls.instanceActor),
    }),
    seen: createSeenActivities(deps.sql),
    outcomes: createIngestOutcomes(deps.metrics),
    ports: deps.ports,
    settings: deps.settings ?? readConfig(inboxIngestConfigSpec, {}),
    publicScheme: deps.config.urls.base.startsWith("https:") ? "https" : "http",
    now: () => new Date(),
    close: () => http.close(),
    ...overrides,
  };
}

/**
 * Key documents are fetched with GETs signed by the instance actor, so servers in "authorized fetch"
 * mode answer. The instance key is loaded on first use (identity creates it at start; `ensure` is
 * idempotent and agrees with a concurrent creator).
 */
function instanceSignedFetcher(
  http: OutboundHttp,
  actorKeys: ActorKeyStore,
  instanceActor: string,
): KeyDocumentFetcher {
  let fetcher: Promise<KeyDocumentFetcher> | undefined;
  const load = async () => {
    await actorKeys.ensure(instanceActor);
    const key = await actorKeys.signingKey(instanceActor);
    if (!key) throw new Error(`the instance actor ${instanceActor} has no signing key`);
    return createSignedKeyFetcher(http, key);
  };
  return async (url) => {
    fetcher ??= load().catch((error: unknown) => {
      fetcher = undefined; // try again on the next request
      throw error;
    });
    return (await fetcher)(url);
  };
}
