#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so the workspace needs no build step before first use.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
