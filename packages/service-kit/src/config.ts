import { z } from "zod";

/**
 * Configuration is read once, at boot, from the environment into a typed object.
 * A bad or missing variable stops the process with a message naming that variable,
 * instead of surfacing later as a confusing runtime failure.
 */
export interface ConfigVariable<T> {
  /** Environment variable name, e.g. `PORT`. */
  env: string;
  /** Parses the raw string (or the default) into the typed value. */
  schema: z.ZodType<T>;
  /** Raw default used when the variable is unset or empty; omit to make it required. */
  default?: string;
  description: string;
}

export type ConfigSpec = Record<string, ConfigVariable<unknown>>;
export type ConfigOf<S extends ConfigSpec> = {
  [K in keyof S]: S[K] extends ConfigVariable<infer T> ? T : never;
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`invalid configuration: ${variable}: ${reason}`);
    this.name = "ConfigError";
  }
}

export function readConfig<S extends ConfigSpec>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(spec)) {
    const given = env[variable.env];
    const raw = given === undefined || given === "" ? variable.default : given;
    if (raw === undefined) throw new ConfigError(variable.env, "is required but not set");
    const parsed = variable.schema.safeParse(raw);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((issue) => issue.message).join("; ");
      throw new ConfigError(variable.env, `${reason} (got ${JSON.stringify(raw)})`);
    }
    out[key] = parsed.data;
  }
  return out as ConfigOf<S>;
}

/** Reads the config or exits the process with status 78 (EX_CONFIG) and a one-line message. */
export function readConfigOrExit<S extends ConfigSpec>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): ConfigOf<S> {
  try {
    return readConfig(spec, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

/** Markdown table rows documenting a spec, so READMEs can be checked against the code. */
export function describeConfig(spec: ConfigSpec): string {
  const rows = Object.values(spec).map(
    (v) =>
      `| \`${v.env}\` | ${v.default === undefined ? "(required)" : `\`${v.default}\``} | ${v.description} |`,
  );
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

/** Parsers for the value shapes our services use. */
export const parse = {
  port: () => z.coerce.number().int("must be an integer").min(0).max(65535, "must be a TCP port (0-65535)"),
  positiveInt: () => z.coerce.number().int("must be an integer").positive("must be positive"),
  nonNegativeInt: () => z.coerce.number().int("must be an integer").min(0, "must not be negative"),
  string: () => z.string().min(1, "must not be empty"),
  boolean: () =>
    z.enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" }).transform((v) => {
      return v === "true" || v === "1" || v === "yes";
    }),
  domain: () =>
    z
      .string()
      .regex(
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
        "must be a lower-case DNS name such as example.org",
      ),
  url: () =>
    z.string().refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === "http:" || url.protocol === "https:";
      } catch {
        return false;
      }
    }, "must be an http(s) URL"),
  logLevel: () => z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  environment: () => z.enum(["production", "development"], { message: "must be production or development" }),
  list: () =>
    z.string().transform((value) =>
      value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    ),
};
