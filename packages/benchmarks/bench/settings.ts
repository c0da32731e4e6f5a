/** A fixed key-encryption key: benchmark databases hold nothing worth sealing. */
export const BENCH_KEK = Buffer.alloc(32, 7).toString("base64");

/** A positive number from the environment, or the default. */
export function numberSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}
