import { packageTestConfig } from "../../vitest.shared.ts";

// helm and kubeconform runs take a few seconds each on a 2-core machine.
export default packageTestConfig({ testTimeout: 120_000 });
