import { mergeConfig } from "vitest/config";
import { packageTestConfig } from "../../vitest.shared.ts";

// The split-deployment tests start many service processes each: one file at a time on 2 cores.
export default mergeConfig(packageTestConfig({ testTimeout: 30_000 }), { test: { fileParallelism: false } });
