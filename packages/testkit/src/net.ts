import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Listens on 127.0.0.1, or on `address` (`port` 0: any free port), and returns the port; fails when
 * the port is taken.
 */
export async function listenLocal(server: Server, port = 0, address = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
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

/**
 * Ports handed to servers started later (service processes, fake peers) come from above the machine's
 * ephemeral range (Linux: 32768-60999 by default) and above 61999, which the split fault suite's
 * backing services use. A port picked inside the ephemeral range can be taken, before its server
 * listens, as the local port of one of the many outgoing connections (PostgreSQL, Kafka) opened
 * meanwhile; the server then fails with EADDRINUSE, at every restart too.
 */
const LOWEST_SERVICE_PORT = 62000;
const HIGHEST_PORT = 65535;

/** Ports this process handed out: never the same one twice, even once it is free again. */
const handedOut = new Set<number>();

function ephemeralRangeTop(): number {
  try {
    const [, top] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const parsed = Number(top);
    return Number.isInteger(parsed) ? parsed : 60999;
  } catch {
    return 60999;
  }
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  // Services listen on every address: a port bound on any of them is not free for them.
  const listening = await new Promise<boolean>((done) => {
    server.once("error", () => done(false));
    server.listen(port, "0.0.0.0", () => done(true));
  });
  if (listening) await new Promise<void>((done) => server.close(() => done()));
  return listening;
}

/** Any port the kernel gives, not handed out before (where no range above the ephemeral one is left). */
async function kernelPort(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "0.0.0.0", done));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((done) => server.close(() => done()));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * A port that was free a moment ago on every address, outside the ephemeral range where it can be: a
 * destination that is down, or a port for a server started later.
 */
export async function freePort(): Promise<number> {
  const lowest = Math.max(LOWEST_SERVICE_PORT, ephemeralRangeTop() + 1);
  for (let attempt = 0; lowest <= HIGHEST_PORT && attempt < 500; attempt++) {
    const port = lowest + Math.floor(Math.random() * (HIGHEST_PORT - lowest + 1));
    if (handedOut.has(port)) continue;
    // Reserved before the check, so that concurrent calls never pick the same port.
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  return kernelPort();
}
