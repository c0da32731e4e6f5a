/**
 * How deeply a JSON text nests, checked on the raw bytes before parsing. `JSON.parse` copes with any
 * depth, but much of what follows does not: `JSON.stringify`, structured clone and recursive walkers
 * throw `RangeError: Maximum call stack size exceeded` at a few thousand levels, which would turn a
 * small request into a 500. No document of this protocol needs more than a few dozen levels.
 */
export const DEFAULT_JSON_MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether the JSON text (UTF-8 bytes or a string) opens more than `maxDepth` objects or arrays inside
 * each other. Brackets inside strings do not count. One pass, no allocation; it does not validate the
 * JSON (the parser does that next). In UTF-8 the bytes of a multi-byte character are all >= 0x80, so
 * scanning bytes sees exactly the ASCII structure.
 */
export function exceedsJsonDepth(text: Uint8Array | string, maxDepth: number): boolean {
  const length = text.length;
  const at = typeof text === "string" ? (i: number) => text.charCodeAt(i) : (i: number) => text[i] ?? 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < length; i += 1) {
    const code = at(i);
    if (inString) {
      if (code === BACKSLASH) i += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}
