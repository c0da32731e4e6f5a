import { packageTestConfig } from "../../vitest.shared.ts";

// The split-deployment test starts fifteen service processes and runs the end-to-end suite against them.
export default packageTestConfig({ testTimeout: 30_000 });
