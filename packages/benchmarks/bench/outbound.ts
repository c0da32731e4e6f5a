import type { Scenario } from "../src/index.js";
export const outboundScenario: Scenario = { name: "outbound", run: async () => { throw new Error("not written"); } };
