#!/usr/bin/env node
// Runs every package's tests through turbo, then prints one summary line that CI reads:
// "N passed, N failed, N skipped". Exits non-zero when any package fails.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { countReport } from "./vitest-report.mjs";

const root = new URL("..", import.meta.url).pathname;
const groups = ["packages", "services"];
const reportPaths = [];
for (const group of groups) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const report = join(dir, name, ".test-results", "results.json");
    rmSync(report, { force: true });
    reportPaths.push({ name: `${group}/${name}`, report });
  }
}

// --summary <file> also writes the counts as JSON (CI adds several runs up); other args go to turbo.
const args = process.argv.slice(2);
const summaryAt = args.indexOf("--summary");
const summaryFile = summaryAt >= 0 ? args[summaryAt + 1] : undefined;
const extra = summaryAt >= 0 ? args.filter((_, i) => i !== summaryAt && i !== summaryAt + 1) : args;
const filtered = extra.some((arg) => arg.startsWith("--filter"));
const turbo = spawnSync("npx", ["turbo", "run", "test", "--concurrency=2", "--continue", ...extra], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    TURBO_TELEMETRY_DISABLED: "1",
    // turbo looks for the pinned pnpm on PATH; the workspace carries it as a dev dependency.
    PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
  },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const { name, report } of reportPaths) {
  if (!existsSync(report)) {
    if (!filtered && existsSync(join(root, name, "vitest.config.ts"))) missing.push(name);
    continue;
  }
  const counts = countReport(JSON.parse(readFileSync(report, "utf8")));
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
}
for (const name of missing) {
  console.error(`no test report from ${name} (it crashed before reporting)`);
  failed += 1;
}
if (turbo.status !== 0 && failed === 0) {
  console.error("turbo reported a failure that no test report explains");
  failed += 1;
}
if (summaryFile) {
  mkdirSync(join(summaryFile, ".."), { recursive: true });
  writeFileSync(summaryFile, JSON.stringify({ passed, failed, skipped, node: process.version }));
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);
