import { appendFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import { routeFor, type ServiceName } from "./routes.js";

/**
 * The public address of one split provider: a reverse proxy that sends each request to the service the
 * routing table names (what the Kubernetes ingress does in a cluster). Responses are streamed as they
 * arrive, so the mailbox's Server-Sent Events are never buffered.
 */
export interface FrontOptions {
  /** Ports each service's replicas listen on (127.0.0.1); requests go round-robin. */
  upstreams: Record<ServiceName, readonly number[]>;
  port?: number;
  host?: string;
  /** When set, one line `METHOD path` is appended per POST before it is forwarded (tests count them). */
  postLog?: string;
}

export interface RunningFront {
  port: number;
  server: Server;
  addUpstream(service: ServiceName, port: number): void;
  /** Stops sending requests to a replica (it was stopped or killed). */
  removeUpstream(service: ServiceName, port: number): void;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

function forwardedHeaders(headers: IncomingMessage["headers"]): IncomingMessage["headers"] {
  const result: IncomingMessage["headers"] = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

function problem(res: ServerResponse, status: number, title: string, detail?: string): void {
  res.writeHead(status, { "content-type": "application/problem+json" });
  res.end(JSON.stringify({ type: "about:blank", title, status, ...(detail ? { detail } : {}) }));
}

export async function startFront(options: FrontOptions): Promise<RunningFront> {
  const upstreams = new Map<ServiceName, number[]>(
    Object.entries(options.upstreams).map(([service, ports]) => [service as ServiceName, [...ports]]),
  );
  let turn = 0;
  const pick = (service: ServiceName): number | undefined => {
    const ports = upstreams.get(service) ?? [];
    turn = (turn + 1) % 1_000_000;
    return ports[turn % Math.max(1, ports.length)];
  };
  const server = createServer((req, res) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const service = routeFor(method, path);
    if (!service) {
      req.resume();
      problem(res, 404, "Not Found");
      return;
    }
    const port = pick(service);
    if (port === undefined) {
      req.resume();
      problem(res, 503, "Service Unavailable", `no replica of ${service} is running`);
      return;
    }
    if (options.postLog && method === "POST") {
      // Synchronous, so the count is visible before anything the request causes.
      appendFileSync(options.postLog, `${method} ${path.split("?", 1)[0]}\n`);
    }
    const upstream = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: forwardedHeaders(req.headers),
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardedHeaders(answer.headers));
        // Server-Sent Events: send the headers now, then every chunk as it comes.
        res.flushHeaders();
        // pipeline, not pipe: when the upstream connection breaks mid-response (the service died),
        // the client's response is destroyed too, so a stream ends instead of hanging forever.
        pipeline(answer, res, () => {});
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) {
        problem(res, 502, "Bad Gateway", `${service} did not answer`);
      } else {
        res.destroy();
      }
    });
    // A client that goes away (a closed stream) releases the upstream connection too.
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  // Streams stay open for as long as the client listens.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    addUpstream: (service, upstreamPort) => {
      upstreams.set(service, [...(upstreams.get(service) ?? []), upstreamPort]);
    },
    removeUpstream: (service, upstreamPort) => {
      upstreams.set(
        service,
        (upstreams.get(service) ?? []).filter((candidate) => candidate !== upstreamPort),
      );
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
