import { runClaimStoreContractSuite } from "./contract";
import { createMemoryClaimPools, createMemoryClaimStore } from "./memory";

runClaimStoreContractSuite("memory", async () => {
  const pools = createMemoryClaimPools();
  return {
    openStore: async () => createMemoryClaimStore({ pools }),
    cleanup: async () => {},
  };
});
