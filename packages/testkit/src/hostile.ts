import type { KeyObject } from "node:crypto";
import { request } from "node:http";
import { type SigningKey, signRequest } from "@mimi/http-signatures";
import { FakeRemote } from "./fake-remote.js";

/** An actor evil.test controls: its URL and an RSA key whose document evil.test serves honestly. */
export interface HostileActor {
  readonly id: string;
  readonly key: SigningKey;
  readonly publicKeyPem: string;
}

/**
 * A hostile provider, `http://evil.test`: an honest HTTP server with its own RSA keys that serves
 * whatever documents a test registers (actors, key documents naming other providers' actors, fake
 * channels and their followers) and signs requests to the honest providers as any of its actors.
 * What it says about itself is true; everything it says about others is a lie the honest providers
 * must refuse.
 */
export class HostileProvider {
  static readonly origin = "http://evil.test";
  readonly mallory: HostileActor;
  readonly fakeChannel: HostileActor;
  private readonly remote = new FakeRemote({ host: "evil.test" });

  constructor() {
    this.mallory = this.actor("/users/mallory", "Person");
    this.fakeChannel = this.actor("/channels/fake", "Service");
  }

  get port(): number {
    return this.remote.port;
  }

  /** Every request the honest providers made to evil.test, as `METHOD path`. */
  get requests(): string[] {
    return this.remote.received.map((received) => `${received.method} ${received.path}`);
  }

  /** A new actor on evil.test, served at `path` with a fresh key. */
  actor(path: string, type: "Person" | "Service"): HostileActor {
    const { id, key, publicKeyPem } = this.remote.addActor(path, { type });
    return { id, key, publicKeyPem };
  }

  /** A key of evil.test under an arbitrary key id (the document at that id is the test's to serve). */
  static keyAt(keyId: string, privateKey: KeyObject): SigningKey {
    return { keyId, privateKey };
  }

  /** Serves `body` as JSON at `path` (exact match, query included). */
  serve(path: string, body: unknown, status = 200): void {
    this.remote.serve(path, { status, body });
  }

  /** Answers `path` with a redirect to `location`. */
  redirect(path: string, location: string): void {
    this.remote.serve(path, { status: 302, location });
  }

  /** Listens on 127.0.0.1, or on `address` where the honest providers run elsewhere (a cluster). */
  listen(port = 0, address?: string): Promise<number> {
    return this.remote.listen(port, address);
  }

  close(): Promise<void> {
    return this.remote.close();
  }
}

/**
 * Signs a request for `publicUrl` (e.g. `http://b.test/inbox`) with `key` and sends it to `localBase`,
 * where the test reaches that provider. The signature covers the public host and path, as a peer's would.
 */
export async function sendSigned(
  localBase: string,
  publicUrl: string,
  key: SigningKey,
  options: { method?: "GET" | "POST"; body?: unknown; headers?: Record<string, string>; now?: Date } = {},
): Promise<Response> {
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers = signRequest(
    {
      method,
      url: publicUrl,
      headers:
        body === undefined
          ? { accept: "application/activity+json", ...options.headers }
          : { "content-type": "application/activity+json", ...options.headers },
      ...(body === undefined ? {} : { body }),
    },
    key,
    options.now ? { now: options.now } : {},
  );
  const url = new URL(publicUrl);
  return sendRaw(localBase, `${url.pathname}${url.search}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

/**
 * Sends a request exactly as given, `Host` included (fetch would replace it with the local address,
 * which a signature covering `host` must not see).
 */
export function sendRaw(
  localBase: string,
  path: string,
  options: { method: string; headers: Record<string, string>; body?: string },
): Promise<Response> {
  const base = new URL(localBase);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: base.hostname, port: base.port, method: options.method, path, headers: options.headers },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("end", () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(incoming.headers))
            if (typeof value === "string") headers.set(name, value);
          const status = incoming.statusCode ?? 502;
          const payload = Buffer.concat(chunks);
          resolve(new Response(status === 204 || status === 304 ? null : payload, { status, headers }));
        });
        incoming.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}
