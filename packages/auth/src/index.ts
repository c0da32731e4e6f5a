export { principalOf, requireBearer, requireSelf } from "./middleware.js";
export {
  DAY_MS,
  DEFAULT_SESSION_IDLE_DAYS,
  decideSession,
  LAST_USED_WRITE_INTERVAL_MS,
  type SessionDecision,
} from "./session.js";
export {
  createTokenVerifier,
  generateToken,
  hashToken,
  type Principal,
  TOKEN_PREFIX,
  type TokenCheck,
  type TokenRefusal,
  type TokenVerifier,
} from "./tokens.js";
