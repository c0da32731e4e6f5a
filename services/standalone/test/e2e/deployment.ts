import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchWithConnectTo } from "@mimi/client";
import { startFederation } from "../support/federation.js";
import { HostileProvider } from "../support/hostile.js";

/**
 * Where the end-to-end suite runs. By default it starts three standalone providers in this process;
 * `MIMI_E2E_DEPLOYMENT` (JSON `{ "connectTo": "a.test=127.0.0.1:8081,...", "servers": { "a.test":
 * "http://127.0.0.1:8081", ... } }`) points it at a deployment started elsewhere (the split deployment,
 * a Helm release), which must map the same domains. Optional there: `postLogs` (`{ domain: file }`, one
 * `POST <path>` line per POST the domain's front received), `hostilePort` (the local port the
 * deployment maps `evil.test` to: the suite runs its hostile provider there, on 127.0.0.1 or on
 * `hostileAddress`, an address of this machine the deployment reaches it at) and `disrupt` (a shell
 * command that disrupts the deployment, such as deleting pods or upgrading releases, and exits 0 once
 * it is whole again: test/disruption/disruption.test.ts keeps traffic flowing while it runs).
 */
export interface Deployment {
  /** `host=ip:port,...` for clients checking other domains' credentials. */
  connectTo: string;
  /** The URL a client of `domain` uses for its home server. */
  server(domain: string): string;
  /**
   * Where a raw request (one that sets its own `Host`, such as a signed one) reaches `domain`: its
   * server, or the address the host mapping gives a server named by domain.
   */
  direct(domain: string): string;
  /** POSTs that reached `domain` at `path`, when the deployment can count them. */
  postsTo?(domain: string, path: string): number;
  /** The hostile provider `http://evil.test`, mapped by every honest provider. */
  hostile?: HostileProvider;
  /** A fresh folder for a client's MIMI_HOME. */
  home(name: string): string;
  close(): Promise<void>;
}

export const DOMAINS = ["a.test", "b.test", "c.test"];

/** The external deployment's `disrupt` command, when MIMI_E2E_DEPLOYMENT names one. */
export function disruptCommand(): string | undefined {
  const external = process.env.MIMI_E2E_DEPLOYMENT;
  if (!external) return undefined;
  const { disrupt } = JSON.parse(external) as { disrupt?: unknown };
  return typeof disrupt === "string" && disrupt.trim() !== "" ? disrupt : undefined;
}

export async function openDeployment(): Promise<Deployment> {
  const homes = mkdtempSync(join(tmpdir(), "mimi-e2e-homes-"));
  const home = (name: string) => join(homes, name);
  const external = process.env.MIMI_E2E_DEPLOYMENT;
  if (external) {
    const parsed = JSON.parse(external) as {
      connectTo: string;
      servers: Record<string, string>;
      postLogs?: Record<string, string>;
      hostilePort?: number;
      hostileAddress?: string;
    };
    const postLogs = parsed.postLogs;
    const hostile = parsed.hostilePort === undefined ? undefined : new HostileProvider();
    await hostile?.listen(parsed.hostilePort, parsed.hostileAddress);
    // Servers named by domain (http://a.test, behind an ingress that routes by host) are reached
    // through the host mapping by the suite's own requests too, as by its clients'.
    const server = (domain: string) => {
      const url = parsed.servers[domain];
      if (!url) throw new Error(`MIMI_E2E_DEPLOYMENT names no server for ${domain}`);
      return url;
    };
    const mapped = new Map(
      parsed.connectTo
        .split(",")
        .map((entry) => entry.trim().split("="))
        .filter((pair): pair is [string, string] => pair.length === 2),
    );
    const unmappedFetch = globalThis.fetch;
    globalThis.fetch = fetchWithConnectTo(unmappedFetch, parsed.connectTo);
    return {
      connectTo: parsed.connectTo,
      ...(postLogs
        ? {
            postsTo: (domain: string, path: string) => {
              const log = postLogs[domain];
              if (!log) throw new Error(`MIMI_E2E_DEPLOYMENT names no post log for ${domain}`);
              return readFileSync(log, "utf8")
                .split("\n")
                .filter((line) => line === `POST ${path}`).length;
            },
          }
        : {}),
      ...(hostile ? { hostile } : {}),
      server,
      direct: (domain) => {
        const url = new URL(server(domain));
        const target = mapped.get(url.hostname);
        return target ? `${url.protocol}//${target}` : url.origin;
      },
      home,
      close: async () => {
        globalThis.fetch = unmappedFetch;
        await hostile?.close();
        rmSync(homes, { recursive: true, force: true });
      },
    };
  }
  const hostile = new HostileProvider();
  await hostile.listen();
  const federation = await startFederation(DOMAINS, { extraHosts: { "evil.test": hostile.port } });
  return {
    hostile,
    connectTo: federation.connectTo,
    server: (domain) => federation.get(domain).local,
    direct: (domain) => federation.get(domain).local,
    postsTo: (domain, path) => federation.get(domain).front.posts(path).length,
    home,
    close: async () => {
      await federation.close();
      await hostile.close();
      rmSync(homes, { recursive: true, force: true });
    },
  };
}
