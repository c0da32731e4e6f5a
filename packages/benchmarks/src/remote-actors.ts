import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ACTIVITY_JSON } from "@mimi/activitypub";

export interface FakeActor {
  id: string;
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * Actors of other providers, served from one local server: `GET /users/<name>` answers the actor
 * document of whichever origin the Host header names. Point hosts at it with the development host
 * mapping (`connectTo`).
 */
export interface KeyServer {
  port: number;
  /** Creates an actor `http://<host>/users/<name>` with an RSA-2048 or Ed25519 key. */
  addActor(host: string, name: string, keyType?: "rsa" | "ed25519"): FakeActor;
  /** Actor documents served so far (key fetches). */
  fetches(): number;
  close(): Promise<void>;
}

export function actorDocument(id: string, publicKey: KeyObject, origin: string): Record<string, unknown> {
  return {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id,
    type: "Person",
    inbox: `${id}/inbox`,
    followers: `${id}/followers`,
    endpoints: { sharedInbox: `${origin}/inbox` },
    publicKey: {
      id: `${id}#main-key`,
      owner: id,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  };
}

export async function startKeyServer(): Promise<KeyServer> {
  const documents = new Map<string, string>();
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    const key = `${req.headers.host ?? ""}${(req.url ?? "").split("#")[0]}`;
    const document = documents.get(key);
    if (req.method !== "GET" || !document) {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { "content-type": ACTIVITY_JSON }).end(document);
  });
  await listenLocally(server);
  return {
    port: portOf(server),
    addActor(host, name, keyType = "rsa") {
      const pair =
        keyType === "rsa"
          ? generateKeyPairSync("rsa", { modulusLength: 2048 })
          : generateKeyPairSync("ed25519");
      const origin = `http://${host}`;
      const id = `${origin}/users/${name}`;
      documents.set(`${host}/users/${name}`, JSON.stringify(actorDocument(id, pair.publicKey, origin)));
      return { id, keyId: `${id}#main-key`, privateKey: pair.privateKey, publicKey: pair.publicKey };
    },
    fetches: () => fetches,
    close: () => closeServer(server),
  };
}

export async function listenLocally(server: Server, port = 0): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** `host=127.0.0.1:port,...` for the development host mapping. */
export function connectToMapping(hosts: Iterable<[string, number]>): string {
  return [...hosts].map(([host, port]) => `${host}=127.0.0.1:${port}`).join(",");
}
