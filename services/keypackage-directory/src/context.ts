import type { ProviderUrls } from "@mimi/activitypub";
import { type ActorKeyStore, createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import {
  type ClaimStore,
  closeClaimsRedis,
  createMemoryClaimStore,
  createMemoryReplayGuard,
  createRedisClaimStore,
  createRedisReplayGuard,
  openClaimsRedis,
  type ReplayGuard,
} from "@mimi/claims";
import type { IssuersFor } from "@mimi/credentials";
import {
  createCachingKeyResolver,
  createSignedGet,
  instanceKeyLoader,
  type KeyResolver,
  keyDocumentFetcher,
  processSchemeMemory,
  type SchemeMemory,
} from "@mimi/http-signatures";
import { validateKeyPackage } from "@mimi/mls";
import { createOutboundHttp, type OutboundHttp } from "@mimi/outbound-http";
import type { ProviderConfig } from "@mimi/provider-config";
import { openRateLimiters, type RateLimiterBackend } from "@mimi/rate-limits";
import { type Logger, type Metrics, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { type ClaimConfirmer, createClaimConfirmer } from "./claim-batcher.js";
import { type ClaimDeps, rebuildAllPools } from "./claim-engine.js";
import { type ClaimLimits, createClaimLimits } from "./claim-limits.js";
import { type ClientListCache, createClientListCache } from "./client-lists.js";
import { type KeyPackageDirectorySettings, keyPackageDirectoryConfigSpec } from "./config.js";
import { registeredCiphersuiteName } from "./domain/ciphersuites.js";
import type { KeyPackageValidator } from "./domain/upload-check.js";
import { createLocalIssuers } from "./local-issuers.js";
import { createPoolWatch, type PoolWatch } from "./pool-watch.js";

/** Everything the keypackage directory's handlers need, built once; tests pass overrides. */
export interface KeyPackageDirectoryContext {
  urls: ProviderUrls;
  sql: Sql;
  logger: Logger;
  tokens: TokenVerifier;
  /** Single-use claim state (Redis when `REDIS_URL` is set, else memory). */
  claims: ClaimStore;
  /** Signatures of signed claims already answered (beside `claims`: Redis or memory alike). */
  replayGuard: ReplayGuard;
  /** Users' last known client ids, so a usual claim is one SQL statement (see claim-engine.ts). */
  clientLists: ClientListCache;
  /** Confirms claims in SQL, several per statement. */
  confirmer: ClaimConfirmer;
  /** Resolves signature key ids of claiming servers (cached; fetched signed as the instance actor). */
  keys: KeyResolver;
  http: OutboundHttp;
  /**
   * The signature scheme each peer origin reads (double-knocking), for signed key fetches and, given as
   * `RemoteClaimDeps.schemes`, remote claims; bounded by MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS and
   * MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS.
   */
  signatureSchemes: SchemeMemory;
  actorKeys: ActorKeyStore;
  /** This provider's credential issuers (uploads must carry credentials they issued). */
  issuersFor: IssuersFor;
  validate: KeyPackageValidator;
  settings: KeyPackageDirectorySettings;
  /** Development host mapping: mapped hosts are reached over plain http. */
  connectTo: ReadonlyMap<string, string>;
  /** The scheme requests arrive with at the public edge (RFC 9421 `@target-uri`). */
  publicScheme: "https" | "http";
  now: () => Date;
  /** Claims per requester and target, per origin, per local user; last-resort reuse. */
  claimLimits: ClaimLimits;
  /** Logs and counts pools that claims leave low. */
  poolWatch: PoolWatch;
  /** Releases the outbound HTTP client, the claim store, the replay guard and their Redis connection. */
  close(): Promise<void>;
}

export interface KeyPackageDirectoryDeps {
  config: ProviderConfig;
  sql: Sql;
  logger: Logger;
  /** Defaults to the documented defaults of `keyPackageDirectoryConfigSpec`. */
  settings?: KeyPackageDirectorySettings;
  /** Where the claim limits count; by default Redis under `<MIMI_KEYPACKAGE_REDIS_PREFIX>rl:<domain>:` or memory. */
  rateLimiters?: RateLimiterBackend;
  /** For `mimi_keypackage_pools_low_total`; uncounted without. */
  metrics?: Metrics;
}

/** The claim store and the replay guard, with whatever connection they share. */
export interface ClaimState {
  claims: ClaimStore;
  replayGuard: ReplayGuard;
  close(): Promise<void>;
}

/**
 * `REDIS_URL` set: both on Redis, over one connection (shared by every replica: a claim signature
 * answered by one replica is refused by all), replay keys under `<MIMI_KEYPACKAGE_REDIS_PREFIX>replay:`.
 * Otherwise both in memory (a single process), the replay guard bounded by `replayMaxEntries`.
 */
export function createClaimStateFor(settings: KeyPackageDirectorySettings, logger?: Logger): ClaimState {
  if (!settings.redisUrl) {
    const claims = createMemoryClaimStore();
    const replayGuard = createMemoryReplayGuard({ maxEntries: settings.replayMaxEntries });
    return {
      claims,
      replayGuard,
      close: async () => {
        await claims.close();
        await replayGuard.close();
      },
    };
  }
  const redis = openClaimsRedis(settings.redisUrl, {
    commandTimeoutMs: settings.redisCommandTimeoutMs,
    onError: (error) => logger?.warn({ err: error }, "claim state Redis unreachable; reconnecting"),
  });
  const claims = createRedisClaimStore({ redis, keyPrefix: settings.redisKeyPrefix });
  const replayGuard = createRedisReplayGuard({ redis, keyPrefix: `${settings.redisKeyPrefix}replay:` });
  return {
    claims,
    replayGuard,
    close: async () => {
      await claims.close();
      await replayGuard.close();
      await closeClaimsRedis(redis);
    },
  };
}

export function createKeyPackageDirectoryContext(
  deps: KeyPackageDirectoryDeps,
  overrides: Partial<KeyPackageDirectoryContext> = {},
): KeyPackageDirectoryContext {
  const settings = overrides.settings ?? deps.settings ?? readConfig(keyPackageDirectoryConfigSpec, {});
  const http =
    overrides.http ??
    createOutboundHttp({ production: deps.config.production, connectTo: deps.config.connectTo });
  // Built only for what the overrides leave open (tests pass their own store or guard).
  let claims = overrides.claims;
  let replayGuard = overrides.replayGuard;
  let state: ClaimState | undefined;
  if (!claims || !replayGuard) {
    state = createClaimStateFor(settings, deps.logger);
    claims ??= state.claims;
    replayGuard ??= state.replayGuard;
  }
  const actorKeys = overrides.actorKeys ?? createActorKeyStore(deps.sql, deps.config.keyEncryptionKey);
  const signatureSchemes =
    overrides.signatureSchemes ??
    processSchemeMemory({ maxEntries: settings.schemeMemoryOrigins, ttlMs: settings.schemeMemoryTtlMs });
  const now = overrides.now ?? (() => new Date());
  const rateLimiters =
    deps.rateLimiters ??
    openRateLimiters({
      redisUrl: settings.redisUrl,
      // The domain in every key, as in the pool keys: providers sharing one Redis never share counts.
      keyPrefix: `${settings.redisKeyPrefix}rl:${deps.config.domain}:`,
      onError: (error) =>
        deps.logger.warn({ err: error }, "rate-limit Redis unreachable; counting in memory"),
    });
  return {
    urls: deps.config.urls,
    sql: deps.sql,
    logger: deps.logger,
    tokens: createTokenVerifier(deps.sql),
    claims,
    replayGuard,
    clientLists: createClientListCache(),
    confirmer: createClaimConfirmer(deps.sql, now),
    keys: createCachingKeyResolver({
      fetchKeyDocument: keyDocumentFetcher(
        createSignedGet(http, instanceKeyLoader(actorKeys, deps.config.urls.instanceActor), {
          schemes: signatureSchemes,
        }),
      ),
      requireHttpsKeyIds: deps.config.production,
    }),
    http,
    signatureSchemes,
    actorKeys,
    issuersFor: createLocalIssuers(deps.sql, deps.config.domain),
    validate: mlsKeyPackageValidator(settings),
    settings,
    connectTo: deps.config.connectTo,
    publicScheme: deps.config.urls.base.startsWith("https:") ? "https" : "http",
    now,
    claimLimits: createClaimLimits(rateLimiters, settings),
    poolWatch: createPoolWatch({
      claims,
      domain: deps.config.domain,
      logger: deps.logger,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      lowWatermark: settings.lowWatermark,
    }),
    close: async () => {
      await http.close();
      await claims.close();
      await replayGuard.close();
      await state?.close();
      if (!deps.rateLimiters) await rateLimiters.close();
    },
    ...overrides,
  };
}

/**
 * @mimi/mls `validateKeyPackage` with this directory's suites and lifetime bound. Remote answers are
 * checked with it too: a peer's KeyPackage in a suite we do not accept is never relayed.
 */
export function mlsKeyPackageValidator(settings: KeyPackageDirectorySettings): KeyPackageValidator {
  const supportedCipherSuites = settings.ciphersuites
    .map(registeredCiphersuiteName)
    .filter((name) => name !== undefined);
  const maxLifetimeSeconds = settings.maxLifetimeDays * 86_400;
  return (bytes, now) =>
    validateKeyPackage(bytes, {
      supportedCipherSuites,
      maxLifetimeSeconds,
      nowSeconds: Math.floor(now.getTime() / 1000),
    });
}

/**
 * Work done once at start: the claim store may have lost its state (a Redis restart, or a memory
 * store in a new process), so every pool is rebuilt from the KeyPackages SQL still holds unclaimed.
 */
export async function prepareKeyPackageDirectory(ctx: KeyPackageDirectoryContext): Promise<void> {
  const pools = await rebuildAllPools(claimDepsOf(ctx));
  ctx.logger.info({ pools }, "claim pools rebuilt from SQL");
}

export function claimDepsOf(ctx: KeyPackageDirectoryContext): ClaimDeps {
  return {
    sql: ctx.sql,
    claims: ctx.claims,
    clientLists: ctx.clientLists,
    confirmer: ctx.confirmer,
    domain: ctx.urls.domain,
    logger: ctx.logger,
    now: ctx.now,
  };
}
