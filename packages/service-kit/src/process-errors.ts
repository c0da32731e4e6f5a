import { inspect } from "node:util";
import type { Logger } from "./logger.js";

/** Exit status after an error nothing handled (EX_SOFTWARE), told apart from 78 (configuration) and 1 (start-up). */
export const UNHANDLED_ERROR_EXIT_CODE = 70;

export interface ProcessErrorPolicyOptions {
  logger: Logger;
  /** Ends the process (default `process.exit`); tests pass their own. */
  exit?: (code: number) => void;
  /** Where the events are emitted (default `process`). */
  target?: NodeJS.EventEmitter;
}

const installed = new WeakSet<NodeJS.EventEmitter>();

/**
 * The last line of defence: an `uncaughtException` or `unhandledRejection` is logged as `fatal`, with
 * the error and which of the two it was, and the process exits with {@link UNHANDLED_ERROR_EXIT_CODE}.
 * It exits rather than limping on because after such an error the process's state is unknown (a
 * half-done handler, a client without its listener); Kubernetes (or any supervisor) starts a clean
 * one, a consumer's partitions move to the other members within the session timeout, and the log line
 * says why. Installed once per target; later calls return the uninstaller of a no-op.
 */
export function installProcessErrorPolicy(options: ProcessErrorPolicyOptions): () => void {
  const target = options.target ?? process;
  if (installed.has(target)) return () => undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const { logger } = options;

  const onRejection = (reason: unknown) => {
    logger.fatal(
      { ...errorFields(reason), event: "unhandledRejection" },
      "unhandled promise rejection: exiting so that the process is restarted",
    );
    exit(UNHANDLED_ERROR_EXIT_CODE);
  };
  const onException = (error: unknown, origin: unknown) => {
    logger.fatal(
      { ...errorFields(error), event: typeof origin === "string" ? origin : "uncaughtException" },
      "uncaught exception: exiting so that the process is restarted",
    );
    exit(UNHANDLED_ERROR_EXIT_CODE);
  };
  target.on("unhandledRejection", onRejection);
  target.on("uncaughtException", onException);
  installed.add(target);
  return () => {
    target.off("unhandledRejection", onRejection);
    target.off("uncaughtException", onException);
    installed.delete(target);
  };
}

/** An Error goes to pino's `err` serializer (type, message, stack, cause); anything else is described. */
function errorFields(value: unknown): { err: Error } | { thrown: string } {
  if (value instanceof Error) return { err: value };
  return { thrown: inspect(value, { depth: 3, breakLength: Number.POSITIVE_INFINITY }) };
}
