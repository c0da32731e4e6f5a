import type { Scenario } from "../src/index.js";
export const fanoutScenario: Scenario = { name: "fanout", run: async () => { throw new Error("not written"); } };
