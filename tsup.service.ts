import { defineConfig } from "tsup";

/**
 * Bundles one service entry point with the workspace packages and most dependencies inlined, so the
 * image needs only the few packages that cannot be bundled: PGlite (loads its WASM beside its module)
 * and pg (optional native bindings).
 */
export function serviceBundle(entry: Record<string, string>) {
  return defineConfig({
    entry,
    format: ["esm"],
    platform: "node",
    target: "node20",
    outDir: "dist",
    clean: true,
    sourcemap: true,
    splitting: false,
    // Everything but the unbundleable packages is inlined.
    noExternal: [/^(?!@electric-sql\/pglite(\/|$)|pg(\/|$)|pg-native(\/|$))/],
    external: ["@electric-sql/pglite", "pg", "pg-native"],
    banner: {
      // Bundled CommonJS dependencies still call require().
      js: "import { createRequire as __mimiCreateRequire } from 'node:module'; const require = __mimiCreateRequire(import.meta.url);",
    },
  });
}
