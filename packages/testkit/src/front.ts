import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import { closeNow, listenLocal } from "./net.js";

/** A request that went through the front, with the status it was answered (502: upstream unreachable). */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/**
 * A reverse proxy standing for a provider's public address in multi-provider tests: it keeps every
 * request it forwarded (recorded when the answer starts), and can go down (connection refused) and
 * come back on the same port.
 */
export class TestFront {
  readonly seen: SeenRequest[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(private target = 0) {}

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      const seen = (status: number) =>
        this.seen.push({
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks),
          status,
        });
      const upstream = request(
        { host: "127.0.0.1", port: this.target, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          seen(answer.statusCode ?? 502);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) {
          seen(502);
          res.writeHead(502);
        }
        res.end();
      });
      req.pipe(upstream);
    });
    this.port = await listenLocal(server, port);
    this.server = server;
    return this.port;
  }

  forwardTo(port: number): void {
    this.target = port;
  }

  /** Stops listening: peers get connection refused until `up()`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeNow(server);
  }

  async up(): Promise<void> {
    await this.listen(this.port);
  }

  close(): Promise<void> {
    return this.down();
  }

  /** The POSTs it forwarded, to `path` only when given. */
  posts(path?: string): SeenRequest[] {
    return this.seen.filter((r) => r.method === "POST" && (path === undefined || r.path === path));
  }
}
