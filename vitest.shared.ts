import { defineConfig } from "vitest/config";

/**
 * One test configuration for every package: each run also writes a JSON report that
 * `scripts/run-tests.mjs` adds up into the repository-wide summary line.
 */
export function packageTestConfig(options: { testTimeout?: number; include?: string[] } = {}) {
  return defineConfig({
    test: {
      include: options.include ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: options.testTimeout ?? 20_000,
      // Generous: PGlite and whole providers start slowly when two cores run several suites at once.
      hookTimeout: 180_000,
      reporters: ["default", ["json", { outputFile: ".test-results/results.json" }]],
      passWithNoTests: false,
    },
  });
}
