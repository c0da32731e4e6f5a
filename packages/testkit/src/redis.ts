import { Redis } from "ioredis";

/**
 * Deletes every key under `prefix` on the Redis at `url`, over a connection of its own: tests give
 * their keys a prefix per run and clean it up after, leaving anything else on the server alone.
 */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url);
  try {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    await admin.quit();
  }
}
