import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

/**
 * JSON logs. Anything that could carry a bearer token, a private key or an MLS body is
 * redacted by path so a stray `logger.info({ req })` cannot leak it.
 */
export function createLogger(options: {
  name: string;
  level?: string;
  /** Where the JSON lines go (default stdout); tests collect them. */
  destination?: { write(line: string): void };
}): Logger {
  const settings: LoggerOptions = {
    name: options.name,
    level: options.level ?? "info",
    redact: {
      paths: [
        "req.headers.authorization",
        "headers.authorization",
        "authorization",
        "token",
        "password",
        "privateKey",
        "privateKeyPem",
        "*.token",
        "*.password",
        "*.privateKey",
        "*.privateKeyPem",
        "content",
        "*.content",
      ],
      censor: "[redacted]",
    },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
