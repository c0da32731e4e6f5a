import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on 127.0.0.1 (`port` 0: any free port) and returns the port; fails when the port is taken. */
export async function listenLocal(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes `server` at once, open keep-alive connections included. */
export function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on (a destination that is down, an unreachable key id), free to listen on later. */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
