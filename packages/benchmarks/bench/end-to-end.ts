import type { Scenario } from "../src/index.js";
export const endToEndScenario: Scenario = { name: "end-to-end", run: async () => { throw new Error("not written"); } };
