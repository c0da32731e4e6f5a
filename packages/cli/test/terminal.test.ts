import { describe, expect, it } from "vitest";
import { joined, jsonLine, line, messageBody, terminalSafe } from "../src/terminal.js";
import { memoryIo } from "./testing-io.js";

const ESC = "\u001b";

describe("terminalSafe", () => {
  it("shows C0 controls, DEL and C1 controls as escapes", () => {
    expect(terminalSafe(`a${ESC}[8mb`)).toBe("a\\x1b[8mb");
    expect(terminalSafe("one\ntwo\rthree\tfour")).toBe("one\\ntwo\\rthree\\tfour");
    expect(terminalSafe("\u0000\u0007\u0008\u007f")).toBe("\\x00\\x07\\x08\\x7f");
    // U+009B is a one-character CSI on terminals that read C1 controls.
    expect(terminalSafe("\u0080\u0085\u009b2J\u009f")).toBe("\\x80\\x85\\x9b2J\\x9f");
  });

  it("shows bidi overrides, embeddings, isolates and marks, and line separators, as escapes", () => {
    expect(terminalSafe("\u202a\u202b\u202c\u202d\u202e")).toBe("\\u202a\\u202b\\u202c\\u202d\\u202e");
    expect(terminalSafe("\u2066\u2067\u2068\u2069")).toBe("\\u2066\\u2067\\u2068\\u2069");
    expect(terminalSafe("\u200e\u200f\u061c\u2028\u2029")).toBe("\\u200e\\u200f\\u061c\\u2028\\u2029");
  });

  it("leaves printable text alone, other scripts, emoji and backslashes included", () => {
    const text = "héllo, мир, שלום, 你好 👩‍💻 C:\\dir ~!@#$%^&*()";
    expect(terminalSafe(text)).toBe(text);
  });
});

describe("messageBody", () => {
  it("keeps line breaks but indents every following line", () => {
    expect(messageBody("first\nsecond\r\nthird").text).toBe("first\n    second\n    third");
  });

  it("keeps TAB and escapes every other control, a lone CR included", () => {
    expect(messageBody(`a\tb\rc${ESC}[2Jd\u202ee`).text).toBe("a\tb\\rc\\x1b[2Jd\\u202ee");
  });
});

describe("line", () => {
  it("escapes every value, and keeps values that are already terminal text", () => {
    const name = `evil\n${ESC}[8m`;
    expect(line`#${name}: ${3} ${line`[${name}]`}`.text).toBe("#evil\\n\\x1b[8m: 3 [evil\\n\\x1b[8m]");
  });

  it("joins escaped pieces", () => {
    expect(joined(["a\n", line`b`, 7], ", ").text).toBe("a\\n, b, 7");
  });
});

describe("jsonLine", () => {
  it("stays one line of valid JSON with the same value, with nothing a terminal acts on", () => {
    const value = { text: `x\n${ESC}[8m\u202e\u0085\u007fy`, n: 1 };
    const printed = jsonLine(value).text;
    expect(printed).toBe('{"text":"x\\n\\u001b[8m\\u202e\\u0085\\u007fy","n":1}');
    expect(JSON.parse(printed)).toEqual(value);
  });
});

describe("Io", () => {
  it("prints only terminal text, so a plain string cannot reach the terminal unescaped", () => {
    const io = memoryIo({});
    // @ts-expect-error: a plain string is refused at compile time; it has to go through `line`.
    io.out(`raw${ESC}[8m`);
    io.out(line`${`raw${ESC}[8m`}`);
    expect(io.lines[1]).toBe("raw\\x1b[8m");
  });
});
