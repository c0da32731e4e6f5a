import type { IncomingHttpHeaders } from "node:http";
import { shareAChannel } from "@mimi/channel-sequencer/reads";
import { claimedKeyIds } from "@mimi/http-signatures";
import {
  accountClients,
  consentCheck,
  createDomainBlocks,
  createUserBlocks,
  type DomainBlocks,
  recordClaimedContact,
  recordInvite,
  type UserBlocksView,
} from "@mimi/identity/reads";
import { problems } from "@mimi/service-kit";
import type { KeyPackageDirectoryContext } from "./context.js";
import type { ClaimCollection } from "./domain/claim-document.js";
import { claimCollection } from "./domain/claim-document.js";
import {
  type ClaimRefusal,
  clientClaimRefusal,
  concealedRefusal,
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

/** One cached view of the users' blocks per context (each user's list at most 10 s old). */
const userBlocksOfContext = new WeakMap<object, UserBlocksView>();

function userBlocksOf(ctx: Pick<KeyPackageDirectoryContext, "sql">): UserBlocksView {
  let blocks = userBlocksOfContext.get(ctx);
  if (!blocks) {
    blocks = createUserBlocks(ctx.sql);
    userBlocksOfContext.set(ctx, blocks);
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

/**
 * A claim of local user `username` by `requester` (an actor URL), after its signature (or token)
 * was checked: when the user blocked the requester or its domain, the answer a drained pool would
 * give (200, every client `noKeyPackages`, nothing handed out), so the block is not revealed.
 * `undefined` lets the claim go on.
 */
export async function concealedAnswerForBlocked(
  ctx: Pick<KeyPackageDirectoryContext, "sql" | "logger" | "urls">,
  claim: { username: string; requester: string },
): Promise<ClaimCollection | undefined> {
  if (!(await userBlocksOf(ctx).blocks(claim.username, claim.requester))) return undefined;
  const account = await accountClients(ctx.sql, claim.username);
  if (!account.exists) return undefined;
  ctx.logger.info(claim, "claim by a party the user blocked answered as an empty pool");
  return claimCollection(ctx.urls.actor(claim.username), [], concealedRefusal(account.clientIds));
}

/**
 * Consent for adds by strangers: when local user `username` requires it and `requester` (an actor
 * URL) is neither one of their contacts nor in a channel here with them, the claim is refused with 403
 * `consentRequired` and hands out nothing; the request is recorded as an invite (`mimi invites`), within the settings' bounds per user
 * and per requester. A requester the user accepts becomes a contact, and their next claim goes through.
 */
export async function enforceConsent(
  ctx: Pick<KeyPackageDirectoryContext, "sql" | "logger" | "settings" | "urls">,
  claim: { username: string; requester: string },
): Promise<void> {
  const consent = await consentCheck(ctx.sql, claim.username, claim.requester);
  if (!consent.required || consent.contact) return;
  // People who are already in a channel here together have shared one: no consent is asked.
  if (await shareAChannel(ctx.sql, ctx.urls.actor(claim.username), claim.requester)) return;
  const invited = await recordInvite(ctx.sql, {
    ...claim,
    perUser: ctx.settings.invitesPerUser,
    perRequester: ctx.settings.invitesPerRequester,
  });
  ctx.logger.info({ ...claim, invited }, "claim refused: the user requires consent");
  throw problems.forbidden(
    invited
      ? `${claim.username} accepts adds only from contacts; they have been asked, and the add can be made once they accept`
      : `${claim.username} accepts adds only from contacts, and has too many open invites to take yours now`,
    { reason: "consentRequired", invited },
  );
}

/**
 * The requesting local user claimed `contact` (an actor URL): from now on `contact` counts as their
 * contact, so a later add the other way round needs no consent. A failure here is logged only: the
 * claim was served.
 */
export async function recordContactOfClaim(
  ctx: Pick<KeyPackageDirectoryContext, "sql" | "logger">,
  requester: string,
  contact: string,
): Promise<void> {
  try {
    await recordClaimedContact(ctx.sql, requester, contact);
  } catch (error) {
    ctx.logger.warn({ err: error, requester, contact }, "could not record a claimed contact");
  }
}
