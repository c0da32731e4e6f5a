import type { Scenario } from "../src/index.js";
export const sequencerScenario: Scenario = { name: "sequencer", run: async () => { throw new Error("not written"); } };
