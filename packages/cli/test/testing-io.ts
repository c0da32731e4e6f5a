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
    // MIMI_PASSWORD is `password`; another variable (MIMI_NEW_PASSWORD) is read from `env` when set.
    readSecret: async (_prompt, variable) =>
      (variable && variable !== "MIMI_PASSWORD" ? env[variable] : undefined) ?? password,
    ...(interrupt ? { interrupt } : {}),
  };
}
