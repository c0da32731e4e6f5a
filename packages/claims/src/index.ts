export {
  createMemoryClaimPools,
  createMemoryClaimStore,
  type MemoryClaimPools,
  type MemoryClaimStoreOptions,
} from "./memory";
export {
  type Check,
  ClaimInputError,
  checkKeyPackageIds,
  checkPoolKey,
  checkPoolLists,
  type PoolRedisKeys,
  poolBaseKey,
  poolRedisKeys,
} from "./pool-key";
export {
  createRedisClaimStore,
  DEFAULT_CLAIM_KEY_PREFIX,
  parseClaimFirstReply,
  parseClaimReply,
  type RedisClaimStoreOptions,
} from "./redis";
export type { ClaimedFromPools, ClaimedKeyPackage, ClaimPoolCount, ClaimPoolKey, ClaimStore } from "./types";
