import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { ACTIVITY_JSON } from "@mimi/activitypub";
import type { ActorKeyStore } from "@mimi/actor-keys";
import { type KeyResolver, type SigningKey, verifyRequest } from "@mimi/http-signatures";
import { closeNow, listenLocal } from "./net.js";

/** A request as it reached the fake: method, path with query, headers and the exact body bytes. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The `Signature` header, when there was one. */
  signature: string | undefined;
}

/** What a POST was answered with, and what its HTTP signature was found to be. */
export interface ReceivedPost {
  /** The path without query. */
  path: string;
  body: string;
  headers: IncomingHttpHeaders;
  /** `verifyRequest`'s verdict with the `verifyWith` keys; `{ ok: false, reason: "unchecked" }` without them. */
  verified: { ok: true; keyOwner: string } | { ok: false; reason: string };
  status: number;
}

/** A fixed answer at one path: a JSON document, a bare status, or a redirect. */
export interface FakeAnswer {
  status: number;
  /** Sent as JSON (`contentType`, activity+json by default); no body when absent. */
  body?: unknown;
  contentType?: string;
  /** A `Location` header (for redirects). */
  location?: string;
}

/** An actor the fake serves, with the private half of the key its document publishes. */
export interface FakeActor {
  id: string;
  keyId: string;
  privateKey: KeyObject;
  /** `{ keyId, privateKey }`, for `signRequest`. */
  key: SigningKey;
  publicKeyPem: string;
}

export interface FakeRemoteOptions {
  /** The host name others use for it (mapped to 127.0.0.1 by a development host mapping). */
  host?: string;
  /** Users served at `/users/<name>` as Persons with an inbox and outbox (and no usable key). */
  users?: string[];
  /** Whether those users' documents name `/inbox` as their shared inbox. */
  sharedInbox?: boolean;
  /** Members of a collection at `collectionPath`, served one per page to exercise paging. */
  followers?: string[];
  /** Where that collection is served (default `/followers`). */
  collectionPath?: string;
  /** Keys to check POSTs' signatures with, on receipt. */
  verifyWith?: KeyResolver;
  /** Whether a path registered with `serve` also answers with a query appended. */
  ignoreQuery?: boolean;
}

type Decide = (post: Omit<ReceivedPost, "status">) => number | undefined;

/**
 * Another provider on 127.0.0.1, written in the test. It answers, in this order: what `serve` registered
 * at the path; a POST with the status `answerWith`/`respondWith` choose (202 by default); the `users`
 * and paged `followers` of its options; else 404. It keeps every request it received.
 */
export class FakeRemote {
  readonly host: string;
  readonly received: ReceivedRequest[] = [];
  readonly posts: ReceivedPost[] = [];
  /** Paths (with query) of the GETs it received, in order. */
  readonly gets: string[] = [];
  port = 0;
  private readonly answers = new Map<string, FakeAnswer>();
  private postStatus = 202;
  private postHeaders: Record<string, string> = {};
  private decide: Decide | undefined;
  private server: ReturnType<typeof createServer> | undefined;

  constructor(private readonly options: FakeRemoteOptions = {}) {
    this.host = options.host ?? "remote.test";
  }

  get origin(): string {
    return `http://${this.host}`;
  }

  /** Registers an actor at `path` with a fresh key; its id is `${origin}${path}` (this fake's by default). */
  addActor(
    path: string,
    options: { keyType?: "rsa" | "ed25519"; type?: string; origin?: string } = {},
  ): FakeActor {
    const { publicKey, privateKey } =
      options.keyType === "ed25519"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
    const origin = options.origin ?? this.origin;
    const id = `${origin}${path}`;
    const keyId = `${id}#main-key`;
    const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    this.serve(path, {
      status: 200,
      body: {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        id,
        type: options.type ?? "Person",
        inbox: `${id}/inbox`,
        followers: `${id}/followers`,
        endpoints: { sharedInbox: `${origin}/inbox` },
        publicKey: { id: keyId, owner: id, publicKeyPem },
      },
    });
    return { id, keyId, privateKey, key: { keyId, privateKey }, publicKeyPem };
  }

  /** Answers `path` (query included) with `answer` from now on, replacing what was there. */
  serve(path: string, answer: FakeAnswer): void {
    this.answers.set(path, answer);
  }

  /** Status (and headers) answered to the next POSTs nothing else answers; 202 by default. */
  respondWith(status: number, headers: Record<string, string> = {}): void {
    this.postStatus = status;
    this.postHeaders = headers;
  }

  /** Decides the status per POST (before `respondWith`'s); undefined falls back to it. */
  answerWith(decide: Decide | undefined): void {
    this.decide = decide;
  }

  /** Bodies' `id`s of the POSTs answered 2xx, in the order they arrived. */
  accepted(): string[] {
    return this.posts
      .filter((post) => post.status >= 200 && post.status <= 299)
      .map((post) => String((JSON.parse(post.body) as { id?: unknown }).id));
  }

  /** Listens on 127.0.0.1, or on `address` where peers elsewhere must reach it. */
  async listen(port = 0, address?: string): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.port = await listenLocal(server, port, address);
    this.server = server;
    return this.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeNow(server);
  }

  /** A received request rebuilt as the WHATWG Request a verifier at this host would get. */
  toRequest(received: Pick<ReceivedRequest, "method" | "path" | "headers" | "body">): Request {
    const headers = new Headers();
    for (const [name, value] of Object.entries(received.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    return new Request(`${this.origin}${received.path}`, {
      method: received.method,
      headers,
      ...(received.method === "GET" || received.method === "HEAD" ? {} : { body: received.body }),
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? "/";
    const method = req.method ?? "";
    const signature = req.headers.signature;
    this.received.push({
      method,
      path,
      headers: req.headers,
      body,
      signature: typeof signature === "string" ? signature : undefined,
    });
    const url = new URL(path, this.origin);
    if (method === "GET") this.gets.push(path);
    const answer =
      this.answers.get(path) ?? (this.options.ignoreQuery ? this.answers.get(url.pathname) : undefined);
    if (answer) {
      send(res, answer);
      return;
    }
    if (method === "POST") {
      await this.answerPost(req, res, url, body);
      return;
    }
    const served = this.document(url);
    if (served === undefined) res.writeHead(404).end();
    else send(res, { status: 200, body: served });
  }

  private async answerPost(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const verifier = this.options.verifyWith;
    const outcome = verifier
      ? await verifyRequest({ method: "POST", path: req.url ?? "/", headers: req.headers, body }, verifier)
      : undefined;
    const post = {
      path: url.pathname,
      body: body.toString("utf8"),
      headers: req.headers,
      verified: !outcome
        ? ({ ok: false, reason: "unchecked" } as const)
        : outcome.ok
          ? ({ ok: true, keyOwner: outcome.keyOwner } as const)
          : ({ ok: false, reason: outcome.reason } as const),
    };
    const status = this.decide?.(post) ?? this.postStatus;
    this.posts.push({ ...post, status });
    res.writeHead(status, status === this.postStatus ? this.postHeaders : {}).end();
  }

  /** The `users` and `followers` documents of the options, or undefined. */
  private document(url: URL): unknown {
    const base = this.origin;
    const user = /^\/users\/([a-z0-9_]+)$/.exec(url.pathname)?.[1];
    if (user && this.options.users?.includes(user)) {
      const id = `${base}/users/${user}`;
      return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        id,
        type: "Person",
        inbox: `${id}/inbox`,
        outbox: `${id}/outbox`,
        ...(this.options.sharedInbox ? { endpoints: { sharedInbox: `${base}/inbox` } } : {}),
        publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem: "unused" },
      };
    }
    const followers = this.options.followers;
    const collectionPath = this.options.collectionPath ?? "/followers";
    if (url.pathname !== collectionPath || !followers) return undefined;
    const page = url.searchParams.get("page");
    if (page === null)
      return {
        type: "OrderedCollection",
        id: `${base}${collectionPath}`,
        totalItems: followers.length,
        first: `${base}${collectionPath}?page=0`,
      };
    const index = Number(page);
    const next = index + 1 < followers.length ? `${base}${collectionPath}?page=${index + 1}` : undefined;
    return {
      type: "OrderedCollectionPage",
      orderedItems: followers.slice(index, index + 1),
      ...(next ? { next } : {}),
    };
  }
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding"]);

function send(res: ServerResponse, answer: FakeAnswer): void {
  const headers: Record<string, string> = answer.location ? { location: answer.location } : {};
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers).end();
    return;
  }
  headers["content-type"] = answer.contentType ?? ACTIVITY_JSON;
  res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
}

/** A FakeRemote listening on 127.0.0.1 (on `port` when given, to come back where it was mapped). */
export async function startFakeRemote(
  options: FakeRemoteOptions & { port?: number } = {},
): Promise<FakeRemote> {
  const remote = new FakeRemote(options);
  await remote.listen(options.port);
  return remote;
}

/** Verifies with the public keys in a provider's actor key store (the key id is `<actor>#main-key`). */
export function keyStoreResolver(keys: ActorKeyStore): KeyResolver {
  return {
    async resolve(keyId) {
      const owner = keyId.replace(/#.*$/, "");
      const pem = await keys.publicKeyPem(owner);
      if (!pem) return { ok: false, reason: "keyFetchError", detail: `no key for ${owner}` };
      return { ok: true, key: { keyId, owner, publicKey: createPublicKey(pem) }, fromCache: false };
    },
  };
}
