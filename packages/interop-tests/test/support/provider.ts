import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";
import {
  type CreatedAccount,
  connectToLocal,
  createAccountAt,
  FAST_DELIVERY_ENV,
  freePort,
  providerEnv,
  waitFor,
} from "@mimi/testkit";

/** One of our providers, run in this process on PGlite in a temporary folder. */
export interface OurProvider {
  domain: string;
  /** The public base URL, `http://<domain>`: what peers (and Fedify) use. */
  url: string;
  /** Where the test reaches it directly (the client API). */
  local: string;
  port: number;
  /** MIMI_DEV_CONNECT_TO as the provider got it, its own domain included. */
  connectTo: string;
  provider: RunningProvider;
  close(): Promise<void>;
}

/**
 * Starts the standalone provider of `domain` the way its own federation tests do: public URL
 * `http://<domain>`, and a development host mapping sending its own domain and each of `peers`
 * (host name to local port) to 127.0.0.1. Deliveries retry fast so a test sees them within seconds.
 */
export async function startOurProvider(
  domain: string,
  peers: ReadonlyMap<string, number>,
): Promise<OurProvider> {
  const dir = mkdtempSync(join(tmpdir(), "mimi-interop-"));
  const port = await freePort();
  const connectTo = connectToLocal([[domain, port], ...peers]);
  const provider = await startProvider({
    host: "127.0.0.1",
    env: { ...providerEnv({ domain, port, dataDir: join(dir, domain), connectTo }), ...FAST_DELIVERY_ENV },
  });
  return {
    domain,
    url: `http://${domain}`,
    local: `http://127.0.0.1:${provider.port}`,
    port: provider.port,
    connectTo,
    provider,
    async close() {
      await provider.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type OurUser = CreatedAccount;

export function createUser(p: OurProvider, username: string): Promise<OurUser> {
  return createAccountAt(p, username);
}

export { waitFor };
