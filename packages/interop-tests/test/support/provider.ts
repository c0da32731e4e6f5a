import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProvider, startProvider } from "@mimi/standalone";

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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
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
  const connectTo = [[domain, port] as const, ...peers]
    .map(([host, hostPort]) => `${host}=127.0.0.1:${hostPort}`)
    .join(",");
  const provider = await startProvider({
    host: "127.0.0.1",
    env: {
      MIMI_DOMAIN: domain,
      MIMI_PUBLIC_URL: `http://${domain}`,
      PORT: String(port),
      MIMI_DATA_DIR: join(dir, domain),
      MIMI_DEV_CONNECT_TO: connectTo,
      LOG_LEVEL: process.env.MIMI_TEST_LOG_LEVEL ?? "silent",
      MIMI_DELIVERY_RETRY_BASE_MS: "200",
      MIMI_DELIVERY_RETRY_MAX_DELAY_MS: "1000",
      MIMI_DELIVERY_SCHEDULER_POLL_MS: "100",
      MIMI_MAILBOX_SAFETY_POLL_MS: "500",
    },
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

export interface OurUser {
  username: string;
  token: string;
  actor: string;
}

export async function createUser(p: OurProvider, username: string): Promise<OurUser> {
  const res = await fetch(`${p.local}/api/v1/accounts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: `${username} password` }),
  });
  if (res.status !== 201)
    throw new Error(`account ${username}@${p.domain}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token: string; actor: string };
  return { username, token: body.token, actor: body.actor };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
