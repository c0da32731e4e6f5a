import type { RequestListener } from "node:http";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops accepting connections, waits for in-flight requests (bounded), then runs the closers in reverse. */
  close(): Promise<void>;
}

export interface StartOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** Resources to release on shutdown, closed in reverse order of registration. */
  closers?: Array<() => Promise<void>>;
  /** How long to wait for in-flight requests before forcing connections shut. */
  drainTimeoutMs?: number;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully and exit. */
  handleSignals?: boolean;
  onShutdownStart?: () => void;
}

export async function startServer(handler: RequestListener, options: StartOptions): Promise<RunningServer> {
  const server = createServer(handler);
  // Mastodon-family peers reuse connections; keep them a little longer than common proxy defaults.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, "listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.onShutdownStart?.();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle one by one as their last response finishes.
      const reaper = setInterval(() => server.closeIdleConnections(), 25);
      server.closeIdleConnections();
      const timeout = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, options.drainTimeoutMs ?? 10_000);
        timer.unref();
      });
      await Promise.race([drained, timeout]);
      clearInterval(reaper);
      for (const closer of [...(options.closers ?? [])].reverse()) {
        try {
          await closer();
        } catch (error) {
          options.logger.error({ err: error }, "error while shutting down");
        }
      }
      options.logger.info("stopped");
    })();
    return closing;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      options.logger.info({ signal }, "shutting down");
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  return { server, port, close };
}
