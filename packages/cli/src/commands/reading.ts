import type { ClientEvent, MimiClient } from "@mimi/client";
import type { Io } from "../io.js";
import { line } from "../terminal.js";

/**
 * Fetches what is new before `mimi read` prints; when the home server cannot be reached it says so
 * and the stored messages are printed. Returns what the sync reported.
 */
export async function syncBeforeReading(io: Io, client: MimiClient): Promise<ClientEvent[]> {
  try {
    const result = await client.sync();
    for (const warning of result.warnings) io.err(line`mimi: warning: ${warning}`);
    return result.events;
  } catch (error) {
    io.err(
      line`mimi: warning: showing stored messages only: ${error instanceof Error ? error.message : String(error)}`,
    );
    return [];
  }
}
