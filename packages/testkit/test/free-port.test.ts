import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { freePort } from "../src/net.js";

function ephemeralTop(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[1]);
  } catch {
    return 60999;
  }
}

describe("freePort", () => {
  it("hands out distinct ports above the ephemeral range, each free to listen on every address", async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    const lowest = Math.max(62000, ephemeralTop() + 1);
    if (lowest <= 65535) for (const port of ports) expect(port).toBeGreaterThanOrEqual(lowest);
    for (const port of ports.slice(0, 5)) {
      const server = createServer();
      await new Promise<void>((done, fail) => {
        server.once("error", fail);
        server.listen(port, "0.0.0.0", done);
      });
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});
