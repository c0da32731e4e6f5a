export { principalOf, requireBearer, requireSelf } from "./middleware.js";
export {
  createTokenVerifier,
  generateToken,
  hashToken,
  type Principal,
  TOKEN_PREFIX,
  type TokenVerifier,
} from "./tokens.js";
