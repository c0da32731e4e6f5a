import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";

/** Where the end-to-end suite lives (services/standalone, run from its folder). */
export const E2E_SUITE_DIR = fileURLToPath(new URL("../../../services/standalone", import.meta.url));

/**
 * Runs the end-to-end suite (services/standalone/test/e2e) in a child vitest against a deployment
 * started elsewhere, described as `MIMI_E2E_DEPLOYMENT` wants it; `extraArgs` go to vitest. Resolves
 * with its exit code and everything it printed, without colours.
 */
export function runE2eSuite(
  deployment: unknown,
  extraArgs: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const description = JSON.stringify(deployment);
  return new Promise((done) => {
    const child = spawn("npx", ["vitest", "run", "test/e2e", ...extraArgs], {
      cwd: E2E_SUITE_DIR,
      env: { ...process.env, MIMI_E2E_DEPLOYMENT: description, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("exit", (exitCode) => done({ code: exitCode, output: stripVTControlCharacters(output) }));
  });
}
