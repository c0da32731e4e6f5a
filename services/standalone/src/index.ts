import { ConfigError } from "@mimi/service-kit";
import { startProvider } from "./provider.js";

// Wiring only: configuration errors end the process naming the variable.
startProvider({ handleSignals: true }).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
