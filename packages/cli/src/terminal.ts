/** Not exported: only the functions below, which have escaped whatever came from outside, make one. */
let escapedText!: (text: string) => TerminalText;

/**
 * Everything the CLI prints is a `TerminalText`, and `Io.out`/`Io.err` take nothing else. The only
 * ways to make one are the `line` template tag (its literal parts are ours; every value is escaped
 * by `terminalSafe`), `messageBody` (a message's text, with its line breaks kept but indented) and
 * `jsonLine`. So text from a peer, a server or an error cannot reach the terminal unescaped, and a
 * forged channel name or message cannot move the cursor, hide text, reorder it or start a line
 * that looks like someone else's.
 */
export class TerminalText {
  static {
    escapedText = (text) => new TerminalText(text);
  }

  private constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/**
 * Characters a terminal acts on instead of showing, or that reorder what follows: C0 controls
 * (ESC, CR, LF, TAB, ...), DEL, C1 controls (U+0080-U+009F, which some terminals read as CSI and
 * friends), the Arabic letter mark and left-to-right/right-to-left marks, the line and paragraph
 * separators, and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
 */
function isUnsafe(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** LF, CR and TAB by their usual names; the rest by code point. */
const NAMED: Record<number, string> = { 10: "\\n", 13: "\\r", 9: "\\t" };

function visible(code: number): string {
  return (
    NAMED[code] ??
    (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`)
  );
}

/** `raw` with each unsafe character not in `keep` replaced by `shown(code)`. */
function escapeUnsafe(raw: string, shown: (code: number) => string, keep: readonly number[] = []): string {
  let out = "";
  for (const char of raw) {
    const code = char.codePointAt(0) ?? 0;
    out += isUnsafe(code) && !keep.includes(code) ? shown(code) : char;
  }
  return out;
}

/**
 * One line's worth of outside text, with every control and bidi character shown as an escape
 * (`\x1b`, `\n`, `\u202e`). Backslashes are left as they are, so ordinary text reads as typed.
 */
export function terminalSafe(raw: string): string {
  return escapeUnsafe(raw, visible);
}

const TAB = 0x09;

/** What a continuation line of a multi-line message starts with: no event line starts with a space. */
export const CONTINUATION_INDENT = "    ";

/**
 * A message's text: its line breaks (LF or CRLF) are kept, and every following line is indented by
 * `CONTINUATION_INDENT`, so no line of a message can pass for a line of its own. TAB is kept; every
 * other control or bidi character, a lone CR included, is escaped as in `terminalSafe`.
 */
export function messageBody(raw: string): TerminalText {
  return escapedText(
    raw
      .split(/\r?\n/)
      .map((part) => escapeUnsafe(part, visible, [TAB]))
      .join(`\n${CONTINUATION_INDENT}`),
  );
}

export type Printable = TerminalText | string | number;

/**
 * The template tag every printed line goes through: `line\`sent to ${channelLabel(c)}\``. Values
 * that are already `TerminalText` are kept; strings and numbers are escaped with `terminalSafe`.
 */
export function line(literals: TemplateStringsArray, ...values: Printable[]): TerminalText {
  let text = literals[0] ?? "";
  values.forEach((value, index) => {
    text += value instanceof TerminalText ? value.text : terminalSafe(String(value));
    text += literals[index + 1] ?? "";
  });
  return escapedText(text);
}

/** Joins pieces with a separator (`a, b, c`); all of it escaped, except pieces already `TerminalText`. */
export function joined(values: Printable[], separator: string): TerminalText {
  return escapedText(
    values
      .map((value) => (value instanceof TerminalText ? value.text : terminalSafe(String(value))))
      .join(terminalSafe(separator)),
  );
}

/**
 * A value as one line of JSON. JSON.stringify escapes C0 controls but not DEL, C1 or bidi
 * characters; those can only be inside JSON strings, where `\uXXXX` is the same character, so the
 * line stays valid JSON with the same meaning.
 */
export function jsonLine(value: unknown): TerminalText {
  const json = JSON.stringify(value) ?? "null";
  return escapedText(escapeUnsafe(json, (code) => `\\u${code.toString(16).padStart(4, "0")}`));
}
