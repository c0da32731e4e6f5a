import { MimiClient, mimiHome } from "@mimi/client";
import type { Io } from "./io.js";

/** The SDK client for the chosen (or current) account, configured from the environment. */
export function clientFor(io: Io, handle: string | undefined): MimiClient {
  return new MimiClient({
    home: mimiHome(io.env),
    ...(handle ? { handle } : {}),
    ...(io.env.MIMI_DEV_CONNECT_TO ? { connectTo: io.env.MIMI_DEV_CONNECT_TO } : {}),
  });
}
