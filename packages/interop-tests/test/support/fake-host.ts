import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as it reached a fake host: method, path, headers and the exact body bytes. */
export interface CapturedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeResponse {
  status: number;
  contentType?: string;
  body?: string;
}

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding"]);

/**
 * Another server on the fediverse, written in the test: it answers GETs from a table of documents,
 * answers every POST 202, and keeps every request it received.
 */
export class FakeHost {
  readonly received: CapturedRequest[] = [];
  private readonly documents = new Map<string, FakeResponse>();
  private server: Server | undefined;
  port = 0;

  constructor(readonly host: string) {}

  get origin(): string {
    return `http://${this.host}`;
  }

  serveJson(path: string, document: unknown, contentType = "application/activity+json"): void {
    this.documents.set(path, { status: 200, contentType, body: JSON.stringify(document) });
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const path = req.url ?? "/";
        this.received.push({
          method: req.method ?? "",
          path,
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        const answer: FakeResponse =
          req.method === "POST"
            ? { status: 202 }
            : (this.documents.get(path) ?? this.documents.get(path.split("?")[0] ?? path) ?? { status: 404 });
        res.writeHead(answer.status, answer.contentType ? { "content-type": answer.contentType } : {});
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The captured request rebuilt as the WHATWG Request a verifier receives at this host. */
  toRequest(captured: CapturedRequest): Request {
    const headers = new Headers();
    for (const [name, value] of Object.entries(captured.headers)) {
      if (value === undefined || hopByHop.has(name)) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    return new Request(`${this.origin}${captured.path}`, {
      method: captured.method,
      headers,
      ...(captured.method === "GET" || captured.method === "HEAD" ? {} : { body: captured.body }),
    });
  }
}
