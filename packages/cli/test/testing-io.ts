import type { Io } from "../src/io.js";

export function memoryIo(
  env: Record<string, string | undefined>,
  password = "a long password",
  interrupt?: AbortSignal,
): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    env,
    out: (line) => lines.push(line.text),
    err: (line) => errors.push(line.text),
    readSecret: async () => password,
    ...(interrupt ? { interrupt } : {}),
  };
}
