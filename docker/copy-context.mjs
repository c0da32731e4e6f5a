#!/usr/bin/env node
/**
 * `node docker/copy-context.mjs <source dir> <target dir>`: copies the Docker build context, the
 * source tree minus what `.dockerignore` excludes, as `docker build` would send it. Used by
 * scripts/docker-context, which repeats the Dockerfile's steps where no Docker engine exists.
 *
 * Matching follows Docker's rules: patterns are relative to the context root, `*` and `?` stay
 * within one path segment, `**` spans any number of segments, a matching directory excludes all of
 * its contents, the last matching line wins and `!` re-includes.
 */
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { join, posix } from "node:path";

/** @param {string} pattern a cleaned .dockerignore pattern @returns {RegExp} */
export function patternToRegExp(pattern) {
  let source = "";
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === "*" && pattern[index + 1] === "*") {
      // `**/` may match no directory at all; a trailing `**` matches everything below.
      if (pattern[index + 2] === "/") {
        source += "(?:.*/)?";
        index += 2;
      } else {
        source += ".*";
        index += 1;
      }
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

/** @param {string} text contents of a .dockerignore @returns {{ exclude: boolean, regexp: RegExp }[]} */
export function parseDockerignore(text) {
  const rules = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const exclude = !line.startsWith("!");
    const pattern = posix
      .normalize((exclude ? line : line.slice(1)).trim())
      .replace(/^\/+/, "")
      .replace(/\/+$/, "");
    rules.push({ exclude, regexp: patternToRegExp(pattern) });
  }
  return rules;
}

/** @param {{ exclude: boolean, regexp: RegExp }[]} rules @param {string} relativePath */
export function isExcluded(rules, relativePath) {
  let excluded = false;
  for (const rule of rules) {
    if (rule.regexp.test(relativePath)) excluded = rule.exclude;
  }
  return excluded;
}

function copyTree(rules, sourceRoot, targetRoot, relativeDir) {
  for (const entry of readdirSync(join(sourceRoot, relativeDir), { withFileTypes: true })) {
    const relativePath = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
    if (isExcluded(rules, relativePath)) continue;
    const source = join(sourceRoot, relativePath);
    const target = join(targetRoot, relativePath);
    if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target);
    } else if (entry.isDirectory()) {
      mkdirSync(target, { mode: lstatSync(source).mode });
      copyTree(rules, sourceRoot, targetRoot, relativePath);
    } else if (entry.isFile()) {
      copyFileSync(source, target);
    }
  }
}

const [sourceRoot, targetRoot] = process.argv.slice(2);
if (sourceRoot && targetRoot) {
  let ignoreText = "";
  try {
    ignoreText = readFileSync(join(sourceRoot, ".dockerignore"), "utf8");
  } catch {
    // No .dockerignore: the whole tree is the context.
  }
  mkdirSync(targetRoot, { recursive: true });
  copyTree(parseDockerignore(ignoreText), sourceRoot, targetRoot, "");
} else if (process.argv.length > 2) {
  process.stderr.write("usage: copy-context.mjs <source dir> <target dir>\n");
  process.exit(2);
}
