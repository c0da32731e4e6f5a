import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccountAt, FAST_DELIVERY_ENV, TestFront, waitFor } from "@mimi/testkit";
import { type RunningProvider, startProvider } from "../../src/provider.js";

export interface TestProvider {
  domain: string;
  /** The public base URL (`http://<domain>`), reached through the development host mapping. */
  url: string;
  /** Where a test reaches it directly. */
  local: string;
  front: TestFront;
  provider: RunningProvider;
}

export interface Federation {
  providers: Map<string, TestProvider>;
  get(domain: string): TestProvider;
  /** Extra hosts (fake providers) mapped beside the real ones. */
  connectTo: string;
  close(): Promise<void>;
}

/** Fast retries so tests see redelivery within seconds. */
export { FAST_DELIVERY_ENV, waitFor };

/**
 * Starts one standalone provider per domain, each behind a TestFront, all sharing one development host
 * mapping so `http://a.test` reaches a.test's front. `extraHosts` adds fake providers to the mapping.
 */
export async function startFederation(
  domains: string[],
  options: { extraHosts?: Record<string, number>; env?: Record<string, string> } = {},
): Promise<Federation> {
  const dir = mkdtempSync(join(tmpdir(), "mimi-federation-"));
  const fronts = new Map<string, TestFront>();
  for (const domain of domains) {
    const front = new TestFront();
    await front.listen();
    fronts.set(domain, front);
  }
  const mapping = [
    ...[...fronts].map(([domain, front]) => `${domain}=127.0.0.1:${front.port}`),
    ...Object.entries(options.extraHosts ?? {}).map(([host, port]) => `${host}=127.0.0.1:${port}`),
  ].join(",");
  const providers = new Map<string, TestProvider>();
  for (const domain of domains) {
    const front = fronts.get(domain)!;
    const provider = await startProvider({
      host: "127.0.0.1",
      env: {
        MIMI_DOMAIN: domain,
        MIMI_PUBLIC_URL: `http://${domain}`,
        PORT: "0",
        MIMI_DATA_DIR: join(dir, domain),
        MIMI_DEV_CONNECT_TO: mapping,
        LOG_LEVEL: process.env.MIMI_TEST_LOG_LEVEL ?? "silent",
        ...FAST_DELIVERY_ENV,
        ...options.env,
      },
    });
    front.forwardTo(provider.port);
    providers.set(domain, {
      domain,
      url: `http://${domain}`,
      local: `http://127.0.0.1:${front.port}`,
      front,
      provider,
    });
  }
  return {
    providers,
    connectTo: mapping,
    get(domain) {
      const found = providers.get(domain);
      if (!found) throw new Error(`no provider ${domain}`);
      return found;
    },
    async close() {
      for (const { provider, front } of providers.values()) {
        await front.down();
        await provider.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function createUser(p: TestProvider, username: string): Promise<{ token: string; actor: string }> {
  return createAccountAt(p, username);
}
