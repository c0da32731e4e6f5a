import type { IncomingHttpHeaders } from "node:http";
import { createDomainBlocks, type DomainBlocks } from "@mimi/identity/reads";
import { problems } from "@mimi/service-kit";
import type { KeyPackageDirectoryContext } from "./context.js";
import {
  type ClaimRefusal,
  claimedKeyIds,
  clientClaimRefusal,
  serverClaimRefusal,
} from "./domain/claim-policy.js";

/** One cached view of the operator's blocks per context (it reads identity's table every 10 s). */
const blocksOfContext = new WeakMap<object, DomainBlocks>();

function blocksOf(ctx: Pick<KeyPackageDirectoryContext, "sql">): DomainBlocks {
  let blocks = blocksOfContext.get(ctx);
  if (!blocks) {
    blocks = createDomainBlocks(ctx.sql);
    blocksOfContext.set(ctx, blocks);
  }
  return blocks;
}

function refused(
  ctx: Pick<KeyPackageDirectoryContext, "logger">,
  refusal: ClaimRefusal,
  fields: Record<string, unknown>,
): never {
  ctx.logger.info({ ...fields, reason: refusal.reason }, "claim refused by policy");
  throw problems.forbidden(refusal.detail, { reason: refusal.reason });
}

/**
 * The claim endpoint's policy, before the signature is checked (so before any key fetch): a claim
 * signed with a key of a blocked domain gets 403 `domainBlocked`.
 */
export async function enforceServerClaimPolicy(
  ctx: Pick<KeyPackageDirectoryContext, "sql" | "logger">,
  headers: IncomingHttpHeaders,
): Promise<void> {
  const keyIds = claimedKeyIds(headers);
  const refusal = serverClaimRefusal(keyIds, await blocksOf(ctx).snapshot());
  if (refusal) refused(ctx, refusal, { keyIds });
}

/** A local client's claim: a user of a blocked domain cannot be claimed (403 `domainBlocked`). */
export async function enforceClientClaimPolicy(
  ctx: Pick<KeyPackageDirectoryContext, "sql" | "logger">,
  claim: { requester: string; targetHost: string },
): Promise<void> {
  const refusal = clientClaimRefusal(claim.targetHost, await blocksOf(ctx).snapshot());
  if (refusal) refused(ctx, refusal, claim);
}
