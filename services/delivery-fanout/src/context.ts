import type { ProviderUrls } from "@mimi/activitypub";
import { type ActorKeyStore, createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import type { Bus } from "@mimi/bus";
import { localCollectionFollowers } from "@mimi/channel-sequencer/reads";
import {
  createRequestSigner,
  createSignedGet,
  instanceKeyLoader,
  processSchemeMemory,
  type RequestSigner,
  type SchemeMemory,
  type SignedGet,
} from "@mimi/http-signatures";
import {
  createDomainBlocks,
  createUserBlocks,
  type DomainBlocks,
  type UserBlocksView,
} from "@mimi/identity/reads";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import type { ProviderConfig } from "@mimi/provider-config";
import { createMetrics, type Logger, type Metrics, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { deliveryJobsTopic } from "@mimi/topics";
import { type AudienceExpander, createAudienceExpander } from "./adapters/audience-expander.js";
import { createDeadLetters, type DeadLetters } from "./adapters/dead-letters.js";
import { createDestinationHealth, type DestinationHealth } from "./adapters/destination-health.js";
import { createHeldPairStore, type HeldPairStore } from "./adapters/held-pairs.js";
import {
  createLocalAccountLookup,
  type LocalAccountLookup,
  type LocalCollectionResolver,
} from "./adapters/local-accounts.js";
import { createMailboxStore, type MailboxStore } from "./adapters/mailbox.js";
import { createInProcessNotifier, type MailboxNotifier } from "./adapters/notifier.js";
import { createRemoteActorCache, type RemoteActorCache } from "./adapters/remote-actors.js";
import { createMessageScheduler, type MessageScheduler } from "./adapters/scheduled-messages.js";
import { type DeliverySettings, deliveryFanoutConfigSpec, deliverySettingsFrom } from "./config.js";
import { CircuitBreakers } from "./domain/circuit-breaker.js";
import { DeliveryHeaders } from "./workers/headers.js";

/** Both media types an ActivityPub server may answer actors and collections with. */
const ACTIVITY_DOCUMENT_ACCEPT =
  'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"';

/** Everything delivery-fanout's handlers and workers need, built once; tests pass overrides. */
export interface DeliveryFanoutContext {
  urls: ProviderUrls;
  sql: Sql;
  logger: Logger;
  bus: Bus;
  settings: DeliverySettings;
  /** Clock and randomness are injected so retry timing can be pinned in tests. */
  now: () => number;
  random: () => number;
  http: OutboundHttp;
  /** Signs deliveries on the thread pool, leaving the event loop a core. */
  signer: RequestSigner;
  /** The signature scheme each destination origin accepted (RFC 9421 or draft-cavage; double-knocking). */
  signatureSchemes: SchemeMemory;
  actorKeys: ActorKeyStore;
  tokens: TokenVerifier;
  /** GETs signed as the instance actor (remote actors and collections). */
  fetchJson: SignedGet;
  actorCache: RemoteActorCache;
  localAccounts: LocalAccountLookup;
  localCollections: LocalCollectionResolver;
  expandAudience: AudienceExpander;
  mailbox: MailboxStore;
  notifier: MailboxNotifier;
  health: DestinationHealth;
  breakers: CircuitBreakers;
  /** Pairs (signer, destination) held behind a failed delivery, with their stored backlog. */
  heldPairs: HeldPairStore;
  /** Delayed re-expansion of audience entries that could not be resolved yet. */
  scheduler: MessageScheduler;
  deadLetters: DeadLetters;
  /** The operator's blocked domains (identity's, cached a few seconds). */
  domainBlocks: DomainBlocks;
  /** Each local user's blocks (identity's, cached a few seconds). */
  userBlocks: UserBlocksView;
  /** Counts what was not sent because of a domain block, by `stage`: `expand` or `send`. */
  blockedDeliveries: ReturnType<Metrics["counter"]>;
}

export interface DeliveryFanoutDeps {
  config: ProviderConfig;
  sql: Sql;
  logger: Logger;
  bus: Bus;
  /** Defaults to the spec's defaults (`deliveryFanoutConfigSpec`). */
  settings?: DeliverySettings;
  /**
   * Who follows this provider's channels' followers collections: by default channel-sequencer's read
   * module over the provider's database, in both deployments.
   */
  localCollections?: LocalCollectionResolver;
  /** In-process by default; the split deployment passes the PostgreSQL one. */
  notifier?: MailboxNotifier;
  /** The process's metrics registry; a private one when absent (tests). */
  metrics?: Metrics;
}

export function createDeliveryFanoutContext(
  deps: DeliveryFanoutDeps,
  overrides: Partial<DeliveryFanoutContext> = {},
): DeliveryFanoutContext {
  const { config, sql } = deps;
  const urls = overrides.urls ?? config.urls;
  const settings =
    overrides.settings ?? deps.settings ?? deliverySettingsFrom(readConfig(deliveryFanoutConfigSpec, {}));
  const now = overrides.now ?? Date.now;
  const http =
    overrides.http ??
    createOutboundHttp({
      production: config.production,
      ...(config.production ? {} : { connectTo: config.connectTo }),
      totalTimeoutMs: settings.requestTimeoutMs,
      connectTimeoutMs: Math.min(5_000, settings.requestTimeoutMs),
      userAgent: `mimi-provider (+${urls.base})`,
    });
  const actorKeys = overrides.actorKeys ?? createActorKeyStore(sql, config.keyEncryptionKey);
  // One memory for deliveries and GETs (the process's): what an origin's inbox reads, its documents do too.
  const signatureSchemes = overrides.signatureSchemes ?? processSchemeMemory(settings.signatureSchemes);
  const fetchJson =
    overrides.fetchJson ??
    createSignedGet(http, instanceKeyLoader(actorKeys, urls.instanceActor), {
      accept: ACTIVITY_DOCUMENT_ACCEPT,
      schemes: signatureSchemes,
    });
  const actorCache = overrides.actorCache ?? createRemoteActorCache(sql, settings.actorCache);
  const localAccounts = overrides.localAccounts ?? createLocalAccountLookup(sql);
  const localCollections =
    overrides.localCollections ??
    deps.localCollections ??
    ((url: string) => localCollectionFollowers(sql, urls, url));
  const expandAudience =
    overrides.expandAudience ??
    createAudienceExpander({
      localActorPrefix: urls.actor(""),
      localOrigin: new URL(urls.base).origin,
      localAccounts,
      localCollections,
      actors: actorCache,
      fetchJson,
      now,
      limits: settings.collections,
    });
  return {
    urls,
    sql,
    logger: deps.logger,
    bus: deps.bus,
    settings,
    now,
    random: Math.random,
    http,
    signer: createRequestSigner(),
    signatureSchemes,
    actorKeys,
    tokens: createTokenVerifier(sql),
    fetchJson,
    actorCache,
    localAccounts,
    localCollections,
    expandAudience,
    mailbox: createMailboxStore(sql),
    notifier: deps.notifier ?? createInProcessNotifier(),
    health: createDestinationHealth(sql, { unavailableAfterDays: settings.unavailableAfterDays, now }),
    breakers: new CircuitBreakers(settings.breaker),
    heldPairs: createHeldPairStore(sql, deps.bus, {
      topic: deliveryJobsTopic.name,
      releaseHeader: DeliveryHeaders.release,
      leaseMs: releaseLeaseMs(settings),
      now,
    }),
    scheduler: createMessageScheduler(sql, deps.bus, now),
    deadLetters: createDeadLetters(sql),
    domainBlocks: createDomainBlocks(sql),
    userBlocks: createUserBlocks(sql),
    blockedDeliveries: (deps.metrics ?? createMetrics({ defaultMetrics: false })).counter(
      "delivery_blocked_domain_total",
      "audience entries and deliveries dropped because their domain is blocked",
      ["stage"],
    ),
    ...overrides,
  };
}

/**
 * How long a released pair is left to its drain before it is released again: long enough for a few
 * deliveries to time out, short enough that a drain lost to a crash resumes soon.
 */
export function releaseLeaseMs(settings: DeliverySettings): number {
  return Math.max(10_000, 2 * settings.requestTimeoutMs);
}

/** Work done once at start: the instance actor (which signs fetches) has a key before any fetch. */
export async function prepareDeliveryFanout(ctx: DeliveryFanoutContext): Promise<void> {
  await ctx.actorKeys.ensure(ctx.urls.instanceActor);
}

/** Releases what the context opened (HTTP connections, the notifier's connection). */
export async function closeDeliveryFanout(ctx: DeliveryFanoutContext): Promise<void> {
  await ctx.http.close();
  await ctx.notifier.close();
  // Its signing threads would not keep the process alive, but a closed context frees them at once.
  await ctx.signer.close();
}

/**
 * Clears a domain's unavailable mark and its breaker, and makes the pairs held for it due now (an
 * inbound activity showed it is alive).
 */
export async function markDomainAvailableIn(ctx: DeliveryFanoutContext, origin: string): Promise<void> {
  await ctx.health.markAvailable(origin);
  ctx.breakers.recordSuccess(origin);
  await ctx.heldPairs.wake(origin, ctx.now());
}
