import type { ClaimStore } from "@mimi/claims";
import type { Logger, Metrics } from "@mimi/service-kit";
import type { ClaimOutcome } from "./claim-engine.js";
import { poolKeyOf } from "./keypackage-rows.js";

/**
 * Notices pools running low after claims: a served last resort (no single-use KeyPackage left) or
 * a single-use claim that left at most `lowWatermark` in its pool is logged at info and counted in
 * `mimi_keypackage_pools_low_total{state}`, so an operator sees users being drained, and the
 * user's client tops the pool up on its next sync.
 */
export interface PoolWatch {
  /** Looks at a served claim; never delays or fails it (the counts are read after the answer). */
  afterClaim(username: string, outcome: ClaimOutcome): void;
}

export function createPoolWatch(deps: {
  claims: Pick<ClaimStore, "count">;
  domain: string;
  logger: Logger;
  metrics?: Pick<Metrics, "counter">;
  /** A pool with at most this many single-use KeyPackages left is low; 0 notes only empty ones. */
  lowWatermark: number;
}): PoolWatch {
  const counter: ReturnType<Metrics["counter"]> | undefined = deps.metrics?.counter(
    "keypackage_pools_low_total",
    "claims that left a client's KeyPackage pool low (single-use ones at or below the watermark) or empty (a last resort served)",
    ["state"],
  );

  function note(state: "low" | "empty", fields: Record<string, unknown>): void {
    counter?.inc({ state });
    deps.logger.info({ ...fields, state }, "keypackage pool running low");
  }

  return {
    afterClaim(username, outcome) {
      for (const item of outcome.items) {
        const pool = { username, clientId: item.clientId, ciphersuite: item.ciphersuite };
        if (item.lastResort) {
          note("empty", { ...pool, available: 0 });
          continue;
        }
        if (deps.lowWatermark <= 0) continue;
        deps.claims.count(poolKeyOf(deps.domain, pool)).then(
          ({ available }) => {
            if (available <= deps.lowWatermark) note("low", { ...pool, available });
          },
          (error: unknown) => deps.logger.debug({ err: error, ...pool }, "pool count after a claim failed"),
        );
      }
    },
  };
}
