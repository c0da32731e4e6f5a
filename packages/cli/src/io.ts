import { createInterface } from "node:readline";
import type { TerminalText } from "./terminal.js";

/**
 * Where a command writes: people read stdout; errors are one line on stderr. Both take only
 * `TerminalText`, so nothing from outside reaches the terminal without being escaped.
 */
export interface Io {
  out(line: TerminalText): void;
  err(line: TerminalText): void;
  env: Record<string, string | undefined>;
  /**
   * Reads a secret: from the environment variable (default MIMI_PASSWORD), else a hidden prompt on a
   * TTY, else one line of stdin.
   */
  readSecret(prompt: TerminalText, variable?: string): Promise<string>;
  /** Aborts long-running commands (`mimi listen`): Ctrl-C. */
  interrupt?: AbortSignal;
}

export function processIo(): Io {
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());
  const closed = { stdout: false, stderr: false };
  // A reader that went away (`mimi listen | head -1`) ends output as a broken pipe ends other
  // command-line tools: no more writes, and a long-running command stops; the step under way
  // finishes, so nothing sent or stored is cut in half.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    closed.stdout = true;
    interrupt.abort();
  });
  process.stderr.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    closed.stderr = true;
  });
  return {
    interrupt: interrupt.signal,
    out: (line) => {
      if (!closed.stdout) process.stdout.write(`${line.text}\n`);
    },
    err: (line) => {
      if (!closed.stderr) process.stderr.write(`${line.text}\n`);
    },
    env: process.env,
    async readSecret(prompt, variable = "MIMI_PASSWORD") {
      const fromEnvironment = process.env[variable];
      if (fromEnvironment) return fromEnvironment;
      const input = process.stdin;
      const rl = createInterface({ input, output: process.stderr, terminal: input.isTTY === true });
      if (input.isTTY) {
        process.stderr.write(prompt.text);
        // Mute echo: readline writes typed characters through _writeToOutput.
        (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
      }
      const line = await new Promise<string>((resolve) =>
        rl.once("line", resolve).once("close", () => resolve("")),
      );
      rl.close();
      if (input.isTTY) process.stderr.write("\n");
      return line;
    },
  };
}
