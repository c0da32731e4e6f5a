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
export {
  ClaimStateUnavailableError,
  type ClaimsRedisOptions,
  type ClaimsRedisSource,
  closeClaimsRedis,
  closeRedis,
  connectClaimsRedis,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  isRedisOutage,
  openClaimsRedis,
  openRedis,
  type RedisConnectionOptions,
} from "./redis-connection";
export {
  checkReplayUse,
  MAX_REPLAY_KEY_LENGTH,
  MAX_REPLAY_TTL_SECONDS,
  type ReplayGuard,
  ReplayGuardFullError,
} from "./replay";
export {
  createMemoryReplayGuard,
  createMemoryReplayLedger,
  DEFAULT_REPLAY_MAX_ENTRIES,
  type MemoryReplayGuardOptions,
  type MemoryReplayLedger,
} from "./replay-memory";
export {
  createRedisReplayGuard,
  DEFAULT_REPLAY_KEY_PREFIX,
  type RedisReplayGuardOptions,
} from "./replay-redis";
export type { ClaimedFromPools, ClaimedKeyPackage, ClaimPoolCount, ClaimPoolKey, ClaimStore } from "./types";
