import type { Principal, TokenVerifier } from "@mimi/auth";
import { proceed, refuse, type StepResult } from "./pipeline.js";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * The outbox's authenticate step: a bearer token that verifies. It runs after the read step, so the
 * body checks (415/413/400) come first, as on the inboxes.
 */
export async function authenticateBearer(
  tokens: TokenVerifier,
  authorization: string | undefined,
): Promise<StepResult<Principal>> {
  const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
  if (!token) return refuse("missingToken", "a bearer token is required");
  const checked = await tokens.check(token);
  if (checked.ok) return proceed(checked.principal);
  return checked.reason === "sessionExpired"
    ? refuse("sessionExpired", "the session has expired: log in again")
    : refuse("invalidToken", "the bearer token is not valid");
}
