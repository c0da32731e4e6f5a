import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * A reverse proxy standing for a provider's public address in multi-provider tests: it counts the
 * requests that reach the provider and can go down (connection refused) and come back on the same port.
 */
export class TestFront {
  readonly seen: SeenRequest[] = [];
  private server: Server | undefined;
  private target = 0;
  port = 0;

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      this.seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
      const upstream = request(
        { host: "127.0.0.1", port: this.target, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  forwardTo(port: number): void {
    this.target = port;
  }

  /** Stops listening: peers get connection refused until `up()`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async up(): Promise<void> {
    await this.listen(this.port);
  }

  posts(path: string): SeenRequest[] {
    return this.seen.filter((r) => r.method === "POST" && r.path === path);
  }
}
