import type { Scenario } from "../src/index.js";
export const mlsScenario: Scenario = { name: "mls", run: async () => { throw new Error("not written"); } };
