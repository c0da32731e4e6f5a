import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../bin/mimi.js", import.meta.url));

/** Runs the CLI with a stdout whose reader has gone before the first line: `mimi ... | true`. */
async function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr };
}

describe("a reader that goes away", () => {
  it("ends the CLI quietly, with success, instead of an unhandled EPIPE", async () => {
    const { code, stderr } = await runWithClosedStdout(["--help"]);
    expect(stderr).not.toContain("EPIPE");
    expect(stderr).toBe("");
    expect(code).toBe(0);
  }, 30_000);
});
