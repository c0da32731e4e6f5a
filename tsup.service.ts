import { defineConfig } from "tsup";

/**
 * Packages a service bundle imports from its image's node_modules instead of inlining them:
 * - PGlite loads its WASM beside its module, pg has optional native bindings;
 * - the OpenTelemetry SDK, its loader hook (import-in-the-middle) and the libraries it instruments
 *   (express, pg, ioredis, kafkajs, pino) must stay separate modules: instrumentations patch a module
 *   when Node loads it by name, which an inlined copy never is.
 * Every service lists the ones it uses as dependencies (docker/check-image.mjs checks that each
 * import resolves in the assembled image).
 */
export const RUNTIME_PACKAGES = [
  "@electric-sql/pglite",
  "pg",
  "pg-native",
  "express",
  "ioredis",
  "kafkajs",
  "pino",
  "import-in-the-middle",
  "require-in-the-middle",
  "@opentelemetry/",
] as const;

const escapeForRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const runtimePackage = RUNTIME_PACKAGES.map((name) =>
  name.endsWith("/") ? escapeForRegExp(name) : `${escapeForRegExp(name)}(?:/|$)`,
).join("|");

/**
 * Bundles one service entry point with the workspace packages and the remaining dependencies inlined,
 * plus `dist/instrument.js`, the preload the image runs first (`node --import ./dist/instrument.js
 * dist/main.js`) so tracing instruments the runtime packages above when OTEL_* asks for it.
 */
export function serviceBundle(entry: Record<string, string>) {
  return defineConfig({
    entry: { ...entry, instrument: "../../packages/service-kit/src/instrument.ts" },
    format: ["esm"],
    platform: "node",
    target: "node20",
    outDir: "dist",
    clean: true,
    sourcemap: true,
    splitting: false,
    noExternal: [new RegExp(`^(?!(?:${runtimePackage}))`)],
    external: [new RegExp(`^(?:${runtimePackage})`)],
    banner: {
      // Bundled CommonJS dependencies still call require().
      js: "import { createRequire as __mimiCreateRequire } from 'node:module'; const require = __mimiCreateRequire(import.meta.url);",
    },
  });
}
