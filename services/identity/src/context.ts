import type { ProviderUrls } from "@mimi/activitypub";
import { type ActorKeyStore, createActorKeyStore } from "@mimi/actor-keys";
import { createTokenVerifier, type TokenVerifier } from "@mimi/auth";
import type { ProviderConfig } from "@mimi/provider-config";
import { createMemoryRateLimiters, type RateLimiter, type RateLimiterBackend } from "@mimi/rate-limits";
import { type ConfigOf, type Logger, readConfig } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { type CertificateAuthorities, createCertificateAuthorities } from "./ca.js";
import { identityConfigSpec } from "./config.js";
import { applyConfiguredBlocks } from "./configured-blocks.js";
import { createFairWorkQueue, type FairWorkQueue } from "./domain/fair-queue.js";
import { reservedUsernames } from "./domain/reserved-names.js";

export type IdentitySettings = ConfigOf<typeof identityConfigSpec>;

/** The limits identity enforces, each counted per key in the service's rate-limit backend. */
export interface IdentityLimits {
  /** Failed logins per account (a successful login clears them). */
  loginPerAccount: RateLimiter;
  /** Login attempts per client address. */
  loginPerAddress: RateLimiter;
  /** Account creations attempted per client address. */
  signupPerAddress: RateLimiter;
}

/** Everything identity's handlers need, built once; tests pass overrides. */
export interface IdentityContext {
  urls: ProviderUrls;
  sql: Sql;
  logger: Logger;
  actorKeys: ActorKeyStore;
  tokens: TokenVerifier;
  authorities: CertificateAuthorities;
  openRegistrations: boolean;
  /** Seconds a deleted account's name stays quarantined (410 Gone, not registrable). */
  deletedNameQuarantineSeconds: number;
  /** Seconds a token may go unused before it is refused (0: never); `prepareIdentity` publishes it. */
  sessionIdleSeconds: number;
  /** Names nobody may register (built in, the instance actor's, the operator's additions). */
  reservedUsernames: ReadonlySet<string>;
  limits: IdentityLimits;
  /** Every password hash (login and sign-up) runs through this queue, keyed by client address. */
  passwordWork: FairWorkQueue;
  /** Local usernames that may use the admin API (MIMI_ADMIN_USERS). */
  adminUsers: ReadonlySet<string>;
  /** MIMI_BLOCKED_DOMAINS; `prepareIdentity` writes them where every service reads the blocks. */
  configuredBlockedDomains: readonly string[];
  /** How many users and domains one user may block (MIMI_USER_BLOCKS_MAX). */
  userBlocksMax: number;
  version: string;
}

export function createIdentityContext(
  deps: {
    config: ProviderConfig;
    sql: Sql;
    logger: Logger;
    /** Identity's settings; the defaults when absent. */
    settings?: IdentitySettings;
    /** Where the limits count; this process's memory when absent. */
    rateLimiters?: RateLimiterBackend;
  },
  overrides: Partial<IdentityContext> = {},
): IdentityContext {
  const settings = deps.settings ?? readConfig(identityConfigSpec, {});
  const rateLimiters = deps.rateLimiters ?? createMemoryRateLimiters();
  return {
    urls: deps.config.urls,
    sql: deps.sql,
    logger: deps.logger,
    actorKeys: createActorKeyStore(deps.sql, deps.config.keyEncryptionKey),
    tokens: createTokenVerifier(deps.sql),
    authorities: createCertificateAuthorities(deps.sql, deps.config.domain, deps.config.keyEncryptionKey),
    openRegistrations: settings.openRegistrations,
    deletedNameQuarantineSeconds: settings.deletedNameQuarantineDays * 24 * 60 * 60,
    sessionIdleSeconds: settings.sessionIdleDays * 24 * 60 * 60,
    reservedUsernames: reservedUsernames(deps.config.domain, settings.reservedUsernames),
    limits: {
      loginPerAccount: rateLimiters.limiter("login-account", settings.loginLimitPerAccount),
      loginPerAddress: rateLimiters.limiter("login-address", settings.loginLimitPerAddress),
      signupPerAddress: rateLimiters.limiter("signup-address", settings.signupLimitPerAddress),
    },
    passwordWork: createFairWorkQueue({
      concurrency: settings.passwordHashConcurrency,
      maxWaiting: settings.passwordHashQueue,
      maxPerKey: settings.passwordHashQueuePerAddress,
    }),
    adminUsers: new Set(settings.adminUsers),
    configuredBlockedDomains: settings.blockedDomains,
    userBlocksMax: settings.userBlocksMax,
    version: "0.1.0",
    ...overrides,
  };
}

/**
 * Work done once at start: the instance actor's key and the domain CA exist before traffic arrives,
 * and the session idle limit is where every service's token check reads it.
 */
export async function prepareIdentity(ctx: IdentityContext): Promise<void> {
  await ctx.sql.query("update identity.session_policy set idle_seconds = $1", [ctx.sessionIdleSeconds]);
  await applyConfiguredBlocks(ctx);
  await ctx.actorKeys.ensure(ctx.urls.instanceActor);
  await ctx.authorities.active();
}
