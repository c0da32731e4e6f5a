import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFederation } from "../support/federation.js";

/**
 * Where the end-to-end suite runs. By default it starts three standalone providers in this process;
 * `MIMI_E2E_DEPLOYMENT` (JSON `{ "connectTo": "a.test=127.0.0.1:8081,...", "servers": { "a.test":
 * "http://127.0.0.1:8081", ... } }`) points it at a deployment started elsewhere (the split deployment,
 * a Helm release), which must map the same domains. Optional there: `postLogs` (`{ domain: file }`, one
 * `POST <path>` line per POST the domain's front received) and `forger` (`{ actor, keyId, privateKeyPem }`,
 * an actor the deployment maps and serves, as `startForger` below does).
 */
export interface Deployment {
  /** `host=ip:port,...` for clients checking other domains' credentials. */
  connectTo: string;
  /** The URL a client of `domain` uses for its home server. */
  server(domain: string): string;
  /** POSTs that reached `domain` at `path`, when the deployment can count them. */
  postsTo?(domain: string, path: string): number;
  /** An actor outside the channel (`http://evil.test/users/mallory`) whose key the test holds. */
  forger?: { actor: string; keyId: string; privateKey: KeyObject };
  /** A fresh folder for a client's MIMI_HOME. */
  home(name: string): string;
  close(): Promise<void>;
}

export const DOMAINS = ["a.test", "b.test", "c.test"];

export async function openDeployment(): Promise<Deployment> {
  const homes = mkdtempSync(join(tmpdir(), "mimi-e2e-homes-"));
  const home = (name: string) => join(homes, name);
  const external = process.env.MIMI_E2E_DEPLOYMENT;
  if (external) {
    const parsed = JSON.parse(external) as {
      connectTo: string;
      servers: Record<string, string>;
      postLogs?: Record<string, string>;
      forger?: { actor: string; keyId: string; privateKeyPem: string };
    };
    const postLogs = parsed.postLogs;
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
      ...(parsed.forger
        ? {
            forger: {
              actor: parsed.forger.actor,
              keyId: parsed.forger.keyId,
              privateKey: createPrivateKey(parsed.forger.privateKeyPem),
            },
          }
        : {}),
      server: (domain) => {
        const url = parsed.servers[domain];
        if (!url) throw new Error(`MIMI_E2E_DEPLOYMENT names no server for ${domain}`);
        return url;
      },
      home,
      close: async () => rmSync(homes, { recursive: true, force: true }),
    };
  }
  const forger = await startForger();
  const federation = await startFederation(DOMAINS, { extraHosts: { "evil.test": forger.port } });
  return {
    forger: forger.identity,
    connectTo: federation.connectTo,
    server: (domain) => federation.get(domain).local,
    postsTo: (domain, path) => federation.get(domain).front.posts(path).length,
    home,
    close: async () => {
      await federation.close();
      forger.server.close();
      rmSync(homes, { recursive: true, force: true });
    },
  };
}

/** A one-actor provider at evil.test: serves mallory's actor document with a key the test holds. */
async function startForger(): Promise<{
  server: Server;
  port: number;
  identity: { actor: string; keyId: string; privateKey: KeyObject };
}> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const actor = "http://evil.test/users/mallory";
  const document = JSON.stringify({
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: actor,
    type: "Person",
    inbox: `${actor}/inbox`,
    publicKey: {
      id: `${actor}#main-key`,
      owner: actor,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }),
    },
  });
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/users/mallory") {
      res.writeHead(200, { "content-type": "application/activity+json" });
      res.end(document);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    identity: { actor, keyId: `${actor}#main-key`, privateKey },
  };
}
