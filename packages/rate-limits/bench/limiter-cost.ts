/**
 * What a limiter adds to a request: `consume` calls per second and the CPU time of each, on the
 * memory backend and (with REDIS_URL) on Redis, 50 callers at a time as an HTTP server under load
 * would call it. Compare the CPU time per call with the inbound benchmark's time per delivery.
 *
 *   node --import tsx bench/limiter-cost.ts
 */
import { createMemoryRateLimiters } from "../src/memory.js";
import { createRedisRateLimiters } from "../src/redis.js";
import type { RateLimiter, RateLimiterBackend } from "../src/types.js";

const CALLS = Number(process.env.BENCH_LIMITER_CALLS ?? 200_000);
const CONCURRENCY = 50;
const ORIGINS = 1_000;

async function measure(
  limiter: RateLimiter,
  calls: number,
): Promise<{ perSecond: number; cpuMicros: number }> {
  let next = 0;
  const startedCpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) {
        next += 1;
        await limiter.consume(`https://origin-${next % ORIGINS}.example`);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(startedCpu);
  return { perSecond: calls / seconds, cpuMicros: (cpu.user + cpu.system) / calls };
}

async function run(label: string, backend: RateLimiterBackend, calls: number): Promise<void> {
  // Large enough never to refuse: the cost measured is the counting, not the refusal.
  const limiter = backend.limiter(`bench-${Date.now()}`, { points: 1_000_000_000, durationSeconds: 60 });
  await measure(limiter, Math.min(calls, 10_000));
  const { perSecond, cpuMicros } = await measure(limiter, calls);
  process.stdout.write(
    `${label.padEnd(8)} ${Math.round(perSecond).toLocaleString("en").padStart(10)} consume/s  ${cpuMicros.toFixed(1)} µs CPU per call (this process)\n`,
  );
  await backend.close();
}

await run("memory", createMemoryRateLimiters(), CALLS);
const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const redis = createRedisRateLimiters({ url: redisUrl, keyPrefix: `mimi-bench:${process.pid}:rl:` });
  await redis.ready();
  await run("redis", redis, Math.round(CALLS / 4));
} else {
  process.stdout.write("redis    skipped (no REDIS_URL)\n");
}
