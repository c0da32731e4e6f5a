import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

/** A debug-level logger whose output a test reads back as text. */
export interface CapturedLogs {
  logger: Logger;
  text(): string;
}

export function captureLogs(): CapturedLogs {
  let text = "";
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _encoding, callback) {
        text += String(chunk);
        callback();
      },
    }),
  );
  return { logger, text: () => text };
}
