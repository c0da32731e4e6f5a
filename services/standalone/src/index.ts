import { ConfigError, startTracing } from "@mimi/service-kit";
import { startProvider } from "./provider.js";

// Wiring only. Tracing first (its instrumentations are preloaded by `--import
// @mimi/service-kit/instrument`); configuration errors end the process naming the variable.
async function main(): Promise<void> {
  const tracing = await startTracing({ serviceName: "mimi-standalone" });
  await startProvider({ handleSignals: true, afterClose: () => tracing.shutdown() });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
