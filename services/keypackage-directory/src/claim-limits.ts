import {
  type RateLimitDecision,
  type RateLimiter,
  type RateLimiterBackend,
  rateLimitedProblem,
} from "@mimi/rate-limits";
import type { ClaimOutcome } from "./claim-engine.js";
import type { KeyPackageDirectorySettings } from "./config.js";

/**
 * The limits on claiming KeyPackages. A claim takes a single-use KeyPackage from every client of the
 * target, so without them anyone able to sign a request (or any local user) could empty a user's
 * pools and leave only the last resort, which MLS allows to be reused but which weakens forward
 * secrecy the more often it is.
 */
export interface ClaimLimits {
  /** Claims of one target user by one requesting actor. */
  perPair: RateLimiter;
  /** Claims of one target user by all actors of one requesting origin (many keys, one server). */
  perOriginTarget: RateLimiter;
  /** Claims signed by actors of one origin, whatever the target (server-to-server). */
  perOrigin: RateLimiter;
  /** Claims by one local user through the client API, whatever the target (each may cost outbound requests). */
  perLocalUser: RateLimiter;
  /** Times one client's last-resort KeyPackage is handed to one requesting origin. */
  lastResort: RateLimiter;
}

export function createClaimLimits(
  backend: RateLimiterBackend,
  settings: Pick<
    KeyPackageDirectorySettings,
    | "claimLimitPerPair"
    | "claimLimitPerOriginTarget"
    | "claimLimitPerOrigin"
    | "claimLimitPerLocalUser"
    | "lastResortLimit"
  >,
): ClaimLimits {
  return {
    perPair: backend.limiter("kp-claim-pair", settings.claimLimitPerPair),
    perOriginTarget: backend.limiter("kp-claim-origin-target", settings.claimLimitPerOriginTarget),
    perOrigin: backend.limiter("kp-claim-origin", settings.claimLimitPerOrigin),
    perLocalUser: backend.limiter("kp-claim-user", settings.claimLimitPerLocalUser),
    lastResort: backend.limiter("kp-last-resort", settings.lastResortLimit),
  };
}

/** Who claims whose KeyPackages: the requesting actor, its origin, and the target (a username or an acct). */
export interface ClaimParties {
  requester: string;
  requesterOrigin: string;
  target: string;
  /** `server`: a signed claim from another provider; `client`: a local user's claim through the API. */
  via: "server" | "client";
}

/** The origin of an actor URL, or the URL itself when it does not parse (the key is only a count's name). */
export function originOf(actor: string): string {
  try {
    return new URL(actor).origin;
  } catch {
    return actor;
  }
}

/**
 * Spends one claim of each limit that applies, all at once (one round trip to Redis), and throws the
 * 429 problem of the first refused one, with the longest wait any of them asks for.
 */
export async function admitClaim(limits: ClaimLimits, parties: ClaimParties): Promise<void> {
  const target = parties.target.toLowerCase();
  const checks: Array<[RateLimiter, string]> = [
    [limits.perPair, `${parties.requester} ${target}`],
    [limits.perOriginTarget, `${parties.requesterOrigin} ${target}`],
    parties.via === "server"
      ? [limits.perOrigin, parties.requesterOrigin]
      : [limits.perLocalUser, parties.requester],
  ];
  const decisions = await Promise.all(checks.map(([limiter, key]) => limiter.consume(key)));
  const refusedAt = decisions.findIndex((decision) => !decision.allowed);
  if (refusedAt < 0) return;
  const limiter = checks[refusedAt]?.[0] ?? limits.perPair;
  const wait = Math.max(...decisions.map((decision) => (decision.allowed ? 0 : decision.retryAfterSeconds)));
  throw rateLimitedProblem(limiter, wait, "too many KeyPackage claims; retry later");
}

/**
 * Withholds last-resort KeyPackages handed to this origin too often: such a client is listed as
 * unavailable (`noKeyPackages`) instead, until the window ends or its owner uploads new ones.
 */
export async function limitLastResorts(
  limits: ClaimLimits,
  requesterOrigin: string,
  target: string,
  outcome: ClaimOutcome,
): Promise<ClaimOutcome> {
  if (!outcome.items.some((item) => item.lastResort)) return outcome;
  const decisions = await Promise.all(
    outcome.items.map((item): Promise<RateLimitDecision> | RateLimitDecision =>
      item.lastResort
        ? limits.lastResort.consume(`${requesterOrigin} ${target.toLowerCase()}/${item.clientId}`)
        : { allowed: true, remaining: 0 },
    ),
  );
  const limited: ClaimOutcome = { items: [], unavailable: [...outcome.unavailable] };
  outcome.items.forEach((item, index) => {
    if (decisions[index]?.allowed) {
      limited.items.push(item);
      return;
    }
    limited.unavailable.push({
      clientId: item.clientId,
      reason: "noKeyPackages",
      detail: "this client has no KeyPackage left, and its last resort was handed out too often recently",
    });
  });
  return limited;
}
