import type { Scenario } from "../src/index.js";
export const claimsScenario: Scenario = { name: "claims", run: async () => { throw new Error("not written"); } };
