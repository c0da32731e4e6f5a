import { randomUUID } from "node:crypto";
import type { ProviderUrls } from "@mimi/activitypub";
import { type ActorKeyStore, createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import type { Bus } from "@mimi/bus";
import {
  createCachingKeyResolver,
  createSignedGet,
  instanceKeyLoader,
  type KeyResolver,
  keyDocumentFetcher,
  processSchemeMemory,
  type SchemeMemory,
  type SignedGet,
} from "@mimi/http-signatures";
import { createOutboundHttp } from "@mimi/outbound-http";
import type { ProviderConfig } from "@mimi/provider-config";
import { type ConfigOf, type Logger, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { type AcctResolver, createAcctResolver } from "./adapters/acct-resolver.js";
import {
  type CredentialAuthority,
  createCredentialAuthority,
  providerIssuers,
} from "./adapters/credential-authority.js";
import { channelSequencerConfigSpec } from "./config.js";
import { type ChannelStore, createChannelStore } from "./sequencer/store.js";

export type ChannelSequencerSettings = ConfigOf<typeof channelSequencerConfigSpec>;

/** Everything the sequencer's handlers and routes need, built once; tests pass overrides. */
export interface ChannelSequencerContext {
  urls: ProviderUrls;
  sql: Sql;
  bus: Bus;
  logger: Logger;
  store: ChannelStore;
  /** Channel actor keys (created when a channel is) and the instance actor's key. */
  actorKeys: ActorKeyStore;
  tokens: TokenVerifier;
  /** Resolves signature key ids of signed GETs (cached; fetched signed as the instance actor). */
  keys: KeyResolver;
  /** Validates MLS credentials and names the acct they bind. */
  credentials: CredentialAuthority;
  /** acct -> actor URL (local: the actor URL; remote: WebFinger, cached). */
  resolveAcct: AcctResolver;
  /** GETs signed as the instance actor (relaying remote channels to local clients). */
  signedGet: SignedGet;
  /**
   * The signature scheme each peer origin reads (double-knocking) for the signed reads; bounded by
   * MIMI_CHANNEL_SCHEME_MEMORY_ORIGINS and MIMI_CHANNEL_SCHEME_MEMORY_TTL_MS.
   */
  signatureSchemes: SchemeMemory;
  settings: ChannelSequencerSettings;
  /** The scheme requests arrive with at the public edge (RFC 9421 `@target-uri`). */
  publicScheme: "https" | "http";
  now: () => Date;
  /** Mints the uuid part of Accept/Reject ids. */
  newId: () => string;
  /** Releases the outbound HTTP client. */
  close(): Promise<void>;
}

export interface ChannelSequencerDeps {
  config: ProviderConfig;
  sql: Sql;
  bus: Bus;
  logger: Logger;
  /** Defaults to the documented defaults of `channelSequencerConfigSpec`. */
  settings?: ChannelSequencerSettings;
}

export function createChannelSequencerContext(
  deps: ChannelSequencerDeps,
  overrides: Partial<ChannelSequencerContext> = {},
): ChannelSequencerContext {
  const { config, sql } = deps;
  const settings = overrides.settings ?? deps.settings ?? readConfig(channelSequencerConfigSpec, {});
  const http = createOutboundHttp({
    production: config.production,
    ...(config.production ? {} : { connectTo: config.connectTo }),
  });
  const actorKeys = overrides.actorKeys ?? createActorKeyStore(sql, config.keyEncryptionKey);
  const signatureSchemes =
    overrides.signatureSchemes ??
    processSchemeMemory({ maxEntries: settings.schemeMemoryOrigins, ttlMs: settings.schemeMemoryTtlMs });
  const signedGet =
    overrides.signedGet ??
    createSignedGet(http, instanceKeyLoader(actorKeys, config.urls.instanceActor), {
      schemes: signatureSchemes,
    });
  return {
    urls: config.urls,
    sql,
    bus: deps.bus,
    logger: deps.logger,
    store: createChannelStore(sql),
    actorKeys,
    tokens: createTokenVerifier(sql),
    keys: createCachingKeyResolver({
      fetchKeyDocument: keyDocumentFetcher(signedGet),
      requireHttpsKeyIds: config.production,
    }),
    credentials: createCredentialAuthority({
      issuersFor: providerIssuers({ sql, domain: config.domain, http, connectTo: config.connectTo }),
    }),
    resolveAcct: createAcctResolver({
      urls: config.urls,
      http,
      connectTo: config.connectTo,
      ttlMs: settings.acctCacheSeconds * 1000,
    }),
    signedGet,
    signatureSchemes,
    settings,
    publicScheme: config.urls.base.startsWith("https:") ? "https" : "http",
    now: () => new Date(),
    newId: randomUUID,
    close: () => http.close(),
    ...overrides,
  };
}
