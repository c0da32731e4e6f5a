import { createLogger, readConfig } from "@mimi/service-kit";
import { describe, expect, it } from "vitest";
import { openServiceRateLimiters, rateLimitStoreConfigSpec } from "./service.js";

function recordingLogger() {
  const lines: string[] = [];
  const logger = createLogger({ name: "test", destination: { write: (line) => lines.push(line) } });
  return { logger, messages: () => lines.map((line) => String(JSON.parse(line).msg)) };
}

describe("a service's rate limiters", () => {
  it("count in memory without REDIS_URL, and say so only where replicas would each count alone", async () => {
    const settings = readConfig(rateLimitStoreConfigSpec, {});
    expect(settings).toEqual({ redisUrl: "", rateLimitRedisPrefix: "mimi:rl:" });
    for (const replicated of [true, false]) {
      const { logger, messages } = recordingLogger();
      const limiters = openServiceRateLimiters(settings, { domain: "a.test", logger, replicated });
      expect(limiters.kind).toBe("memory");
      expect(messages()).toEqual(
        replicated ? ["REDIS_URL is not set: rate limits count per replica, in memory"] : [],
      );
      await limiters.close();
    }
  });
});
