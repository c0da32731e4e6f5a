import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * JSON logs. Anything that could carry a bearer token, a private key or an MLS body is
 * redacted by path so a stray `logger.info({ req })` cannot leak it.
 */
export function createLogger(options: { name: string; level?: string }): Logger {
  return pino({
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
  });
}
