import { createMemoryClaimStore } from "@mimi/claims";
import { createLogger, createMetrics } from "@mimi/service-kit";
import { describe, expect, it } from "vitest";
import { poolKeyOf } from "./keypackage-rows.js";
import { createPoolWatch } from "./pool-watch.js";

const item = (clientId: string, lastResort: boolean) => ({
  clientId,
  ciphersuite: 1,
  content: new Uint8Array([1]),
  lastResort,
});

describe("pool watch", () => {
  it("logs at info and counts a pool left at or below the watermark, and one serving its last resort", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      name: "pool-watch-test",
      level: "info",
      destination: { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const metrics = createMetrics({ defaultMetrics: false });
    const claims = createMemoryClaimStore();
    const pool = (clientId: string) => poolKeyOf("a.test", { username: "carol", clientId, ciphersuite: 1 });
    await claims.add(pool("phone"), ["kp-1", "kp-2"]);
    await claims.add(pool("laptop"), ["kp-3", "kp-4", "kp-5", "kp-6"]);
    const watch = createPoolWatch({ claims, domain: "a.test", logger, metrics, lowWatermark: 2 });

    watch.afterClaim("carol", {
      items: [item("phone", false), item("laptop", false), item("tablet", true)],
      unavailable: [],
    });
    await new Promise((resolve) => setImmediate(resolve));

    const noted = lines.filter((line) => line.msg === "keypackage pool running low");
    expect(noted).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 30,
          username: "carol",
          clientId: "phone",
          available: 2,
          state: "low",
        }),
        expect.objectContaining({ username: "carol", clientId: "tablet", available: 0, state: "empty" }),
      ]),
    );
    expect(noted).toHaveLength(2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('mimi_keypackage_pools_low_total{state="low"} 1');
    expect(text).toContain('mimi_keypackage_pools_low_total{state="empty"} 1');
  });

  it("reads no counts with a watermark of 0, and still notes empty pools", async () => {
    let counted = 0;
    const lines: string[] = [];
    const watch = createPoolWatch({
      claims: {
        count: async () => {
          counted += 1;
          return { available: 0, hasLastResort: true };
        },
      },
      domain: "a.test",
      logger: createLogger({ name: "t", level: "info", destination: { write: (line) => lines.push(line) } }),
      lowWatermark: 0,
    });
    watch.afterClaim("dave", { items: [item("phone", false), item("laptop", true)], unavailable: [] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(counted).toBe(0);
    expect(lines).toHaveLength(1);
  });
});
