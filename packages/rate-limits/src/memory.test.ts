import { runRateLimiterContractSuite } from "./contract.js";
import { createMemoryRateLimiters } from "./memory.js";

runRateLimiterContractSuite("memory", () => {
  // One backend for the test: memory counts are shared by the limiters of one backend.
  const shared = createMemoryRateLimiters();
  return { open: async () => shared, cleanup: async () => {} };
});
