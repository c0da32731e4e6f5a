#!/usr/bin/env node
/**
 * `node docker/check-image.mjs <image dir> <service package.json>`: checks an assembled image folder
 * (dist/, package.json, node_modules/ as the Dockerfile's runtime stage has them): every package the
 * bundle imports is installed there, and none of the service's devDependencies was deployed. Both
 * bundles are read: dist/main.js and dist/instrument.js, the tracing preload. The packages tracing loads
 * lazily (the OpenTelemetry SDK and its loader hook) count as required: a traced process needs them.
 * Used by scripts/docker-context; the bundle is then also run for real.
 */
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";

const packageLike = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*(?:\/.*)?$/;

/**
 * Bare specifiers the bundle loads at run time. `static`: top-level `import ... from "x"` statements,
 * how esbuild emits externals; the bundle cannot start without them. `lazy`: `import("x")` and
 * `require("x")` calls with a literal outside comments, which bundled libraries often guard
 * (optional dependencies, code paths for other platforms).
 */
export function externalSpecifiers(bundle) {
  const staticPatterns = [
    /^\s*(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/,
    /^\s*}\s*from\s*["']([^"']+)["']/,
    /^\s*import\s*["']([^"']+)["']/,
  ];
  const lazyPatterns = [/\bimport\(\s*["']([^"']+)["']\s*\)/g, /\brequire\(\s*["']([^"']+)["']\s*\)/g];
  const found = { static: new Set(), lazy: new Set() };
  const keep = (set, specifier) => {
    if (specifier === undefined || !packageLike.test(specifier)) return;
    if (specifier.startsWith("node:") || isBuiltin(specifier)) return;
    set.add(specifier);
  };
  for (const line of bundle.split("\n")) {
    const code = line.trimStart();
    if (code.startsWith("*") || code.startsWith("//") || code.startsWith("/*")) continue;
    for (const pattern of staticPatterns) keep(found.static, code.match(pattern)?.[1]);
    for (const pattern of lazyPatterns)
      for (const match of code.matchAll(pattern)) keep(found.lazy, match[1]);
  }
  for (const specifier of found.static) found.lazy.delete(specifier);
  return { static: [...found.static].sort(), lazy: [...found.lazy].sort() };
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
export function packageNameOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

const [imageDir, servicePackageJson] = process.argv.slice(2);
if (imageDir && servicePackageJson) {
  const problems = [];
  const bundle = ["main.js", "instrument.js"]
    .map((file) => join(imageDir, "dist", file))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, "utf8"))
    .join("\n");
  const specifiers = externalSpecifiers(bundle);
  const requiredWhenLazy = (specifier) =>
    specifier.startsWith("@opentelemetry/") || packageNameOf(specifier) === "import-in-the-middle";
  const installed = (specifier) =>
    existsSync(join(imageDir, "node_modules", packageNameOf(specifier), "package.json"));
  for (const specifier of specifiers.static) {
    if (!installed(specifier)) problems.push(`imports ${specifier}, which is not installed`);
  }
  for (const specifier of specifiers.lazy.filter(requiredWhenLazy)) {
    if (!installed(specifier)) problems.push(`tracing loads ${specifier}, which is not installed`);
  }
  const lazyMissing = specifiers.lazy.filter(
    (specifier) => !installed(specifier) && !requiredWhenLazy(specifier),
  );
  const deployed = JSON.parse(readFileSync(join(imageDir, "package.json"), "utf8"));
  const service = JSON.parse(readFileSync(servicePackageJson, "utf8"));
  for (const name of Object.keys(service.devDependencies ?? {})) {
    const alsoProduction = name in (deployed.dependencies ?? {});
    if (!alsoProduction && existsSync(join(imageDir, "node_modules", name, "package.json"))) {
      problems.push(`devDependency ${name} was deployed`);
    }
  }
  process.stderr.write(`imports: ${specifiers.static.join(", ") || "none"}\n`);
  if (lazyMissing.length > 0) {
    process.stderr.write(
      `loaded lazily and not installed (guarded or unused paths): ${lazyMissing.join(", ")}\n`,
    );
  }
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.exit(problems.length > 0 ? 1 : 0);
} else if (process.argv.length > 2) {
  process.stderr.write("usage: check-image.mjs <image dir> <service package.json>\n");
  process.exit(2);
}
