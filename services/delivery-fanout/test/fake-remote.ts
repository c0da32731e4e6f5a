import { createPublicKey } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ActorKeyStore } from "@mimi/actor-keys";
import { type KeyResolver, verifyRequest } from "@mimi/http-signatures";

export interface ReceivedPost {
  path: string;
  body: string;
  headers: IncomingMessage["headers"];
  /** What `verifyRequest` said about the HTTP signature (checked on receipt). */
  verified: { ok: true; keyOwner: string } | { ok: false; reason: string };
  /** The status it was answered with. */
  status: number;
}

export interface FakeRemoteOptions {
  /** The host name other servers use for it (mapped to 127.0.0.1 by connectTo). */
  host: string;
  /** Listen on this port (to bring a server back on the port it was mapped to). */
  port?: number;
  /** Users served as actors; their actor documents offer a shared inbox when `sharedInbox` is set. */
  users: string[];
  sharedInbox: boolean;
  /** Members of a collection at `collectionPath`, served one per page to exercise paging. */
  followers?: string[];
  /** Where that collection is served (default `/followers`). */
  collectionPath?: string;
  /** Keys of the sending provider's actors, to verify signatures without a network fetch. */
  senderKeys: ActorKeyStore;
}

export interface FakeRemote {
  host: string;
  port: number;
  posts: ReceivedPost[];
  /** Paths (with query) of the GETs it received, in order. */
  gets: string[];
  /** Status (and headers) answered to the next POSTs; 202 by default. */
  respondWith(status: number, headers?: Record<string, string>): void;
  /** Decides the status per POST (before `respondWith`'s); undefined falls back to it. */
  answerWith(decide: ((post: Omit<ReceivedPost, "status">) => number | undefined) | undefined): void;
  /** Bodies' `id`s of the POSTs answered 2xx, in the order they arrived. */
  accepted(): string[];
  close(): Promise<void>;
}

/** A keyResolver reading the sender's public keys from its key store (the key id is `<actor>#main-key`). */
function keyResolverFor(keys: ActorKeyStore): KeyResolver {
  return {
    async resolve(keyId) {
      const owner = keyId.replace(/#.*$/, "");
      const pem = await keys.publicKeyPem(owner);
      if (!pem) return { ok: false, reason: "keyFetchError", detail: `no key for ${owner}` };
      return { ok: true, key: { keyId, owner, publicKey: createPublicKey(pem) }, fromCache: false };
    },
  };
}

/** Another provider on 127.0.0.1: serves actor documents and followers, records and verifies POSTs. */
export async function startFakeRemote(options: FakeRemoteOptions): Promise<FakeRemote> {
  const base = `http://${options.host}`;
  const keys = keyResolverFor(options.senderKeys);
  const posts: ReceivedPost[] = [];
  const gets: string[] = [];
  let status = 202;
  let extraHeaders: Record<string, string> = {};
  let decide: ((post: Omit<ReceivedPost, "status">) => number | undefined) | undefined;

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", base);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === "POST") {
      const outcome = await verifyRequest(
        { method: "POST", path: req.url ?? "/", headers: req.headers, body },
        keys,
      );
      const post = {
        path: url.pathname,
        body: body.toString("utf8"),
        headers: req.headers,
        verified: outcome.ok
          ? ({ ok: true, keyOwner: outcome.keyOwner } as const)
          : ({ ok: false, reason: outcome.reason } as const),
      };
      const answered = decide?.(post) ?? status;
      posts.push({ ...post, status: answered });
      res.writeHead(answered, answered === status ? extraHeaders : {}).end();
      return;
    }
    gets.push(req.url ?? "/");
    const user = /^\/users\/([a-z0-9_]+)$/.exec(url.pathname)?.[1];
    if (user && options.users.includes(user)) {
      const id = `${base}/users/${user}`;
      json(res, {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        id,
        type: "Person",
        inbox: `${id}/inbox`,
        outbox: `${id}/outbox`,
        ...(options.sharedInbox ? { endpoints: { sharedInbox: `${base}/inbox` } } : {}),
        publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem: "unused" },
      });
      return;
    }
    const collectionPath = options.collectionPath ?? "/followers";
    if (url.pathname === collectionPath && options.followers) {
      const page = url.searchParams.get("page");
      if (page === null) {
        json(res, {
          type: "OrderedCollection",
          id: `${base}${collectionPath}`,
          totalItems: options.followers.length,
          first: `${base}${collectionPath}?page=0`,
        });
        return;
      }
      const index = Number(page);
      const next =
        index + 1 < options.followers.length ? `${base}${collectionPath}?page=${index + 1}` : undefined;
      json(res, {
        type: "OrderedCollectionPage",
        orderedItems: options.followers.slice(index, index + 1),
        ...(next ? { next } : {}),
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  return {
    host: options.host,
    port: (server.address() as AddressInfo).port,
    posts,
    gets,
    respondWith(nextStatus, headers = {}) {
      status = nextStatus;
      extraHeaders = headers;
    },
    answerWith(next) {
      decide = next;
    },
    accepted() {
      return posts
        .filter((post) => post.status >= 200 && post.status <= 299)
        .map((post) => String((JSON.parse(post.body) as { id?: unknown }).id));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: import("node:http").ServerResponse, document: unknown): void {
  res.writeHead(200, { "content-type": "application/activity+json" }).end(JSON.stringify(document));
}

/** A port that nothing listens on (for a destination that is down), free to listen on later. */
export async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
