import { createInterface } from "node:readline";

/** Where a command writes: people read stdout; errors are one line on stderr. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** Reads a secret: from MIMI_PASSWORD, else a hidden prompt on a TTY, else one line of stdin. */
  readSecret(prompt: string): Promise<string>;
  /** Aborts long-running commands (`mimi listen`): Ctrl-C. */
  interrupt?: AbortSignal;
}

export function processIo(): Io {
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());
  return {
    interrupt: interrupt.signal,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    async readSecret(prompt) {
      if (process.env.MIMI_PASSWORD) return process.env.MIMI_PASSWORD;
      const input = process.stdin;
      const rl = createInterface({ input, output: process.stderr, terminal: input.isTTY === true });
      if (input.isTTY) {
        process.stderr.write(prompt);
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
