import { parseArgs } from "node:util";
import { MimiApiError, mimiHome, StateStore } from "@mimi/client";
import { accountCommand } from "./commands/account.js";
import { whoamiCommand } from "./commands/whoami.js";
import { type Io, processIo } from "./io.js";
import { HELP, UsageError } from "./usage.js";

/** Runs one `mimi` invocation and returns the exit code; errors are one readable line. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: "string" },
        as: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`mimi: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  const flags = parsed.values as Record<string, string | boolean>;
  if (!command || flags.help) {
    io.out(HELP);
    return command || flags.help ? 0 : 2;
  }
  const state = new StateStore(mimiHome(io.env));
  const as = typeof flags.as === "string" ? flags.as : undefined;
  try {
    switch (command) {
      case "account":
        await accountCommand(rest, flags, io, state);
        return 0;
      case "whoami":
        await whoamiCommand(io, state, as);
        return 0;
      default:
        io.err(`mimi: unknown command ${command} (see mimi --help)`);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`mimi: ${error.message}`);
      return 2;
    }
    if (error instanceof MimiApiError) {
      io.err(`mimi: ${error.message}`);
      return 1;
    }
    io.err(`mimi: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
