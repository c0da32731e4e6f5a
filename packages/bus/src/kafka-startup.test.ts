import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { createKafkaBus } from "./kafka";
import type { MonitoredBus } from "./types";

// Runs only against a real broker, e.g. KAFKA_BROKERS=127.0.0.1:59092 (see `bash scripts/infra env`).
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter((broker) => broker.length > 0);

/** A free local port that nothing listens on yet. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Forwards `port` to the real broker: the bootstrap address the bus is given. */
function startForwarder(port: number, target: string): Promise<Server> {
  const [host, targetPort] = target.split(":");
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(targetPort), host ?? "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  server.on("close", () => {
    for (const socket of sockets) socket.destroy();
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

describe.skipIf(brokers.length === 0)("kafka bus start-up", () => {
  let bus: MonitoredBus | undefined;
  let forwarder: Server | undefined;
  afterEach(async () => {
    await bus?.close();
    await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
    bus = undefined;
    forwarder = undefined;
  });

  it("waits for brokers that become reachable only after kafkajs' own retries ran out", async () => {
    const port = await freePort();
    const retries: number[] = [];
    // kafkajs gives up on connecting after about 10 s of its own retries; the bus keeps going.
    const opening = setTimeout(() => {
      void startForwarder(port, brokers[0] as string).then((server) => {
        forwarder = server;
      });
    }, 12_000);
    try {
      bus = await createKafkaBus({
        brokers: [`127.0.0.1:${port}`],
        clientId: "startup-test",
        logLevel: logLevel.NOTHING,
        startupDeadlineMs: 60_000,
        onConnectRetry: ({ attempt }) => retries.push(attempt),
      });
    } finally {
      clearTimeout(opening);
    }
    expect(retries.length).toBeGreaterThanOrEqual(1);
    await bus.publish("startup.check", [{ key: "k", value: new TextEncoder().encode("{}") }]);
  }, 90_000);

  it("fails once the start-up deadline has passed", async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      createKafkaBus({
        brokers: [`127.0.0.1:${port}`],
        clientId: "startup-deadline-test",
        logLevel: logLevel.NOTHING,
        startupDeadlineMs: 0,
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
