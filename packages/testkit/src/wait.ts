/** Polls `probe` until it returns a value (not undefined), or throws `timed out waiting for <what>`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fast delivery retries and polls for a provider under test, so redelivery shows within seconds. */
export const FAST_DELIVERY_ENV = {
  MIMI_DELIVERY_RETRY_BASE_MS: "200",
  MIMI_DELIVERY_RETRY_MAX_DELAY_MS: "1000",
  MIMI_DELIVERY_SCHEDULER_POLL_MS: "100",
  MIMI_DELIVERY_BREAKER_COOLDOWN_MS: "500",
  MIMI_MAILBOX_SAFETY_POLL_MS: "500",
};

/** The backing services `eval "$(bash scripts/infra env)"` names; empty strings where it did not run. */
export interface InfraUrls {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
}

export function infraFromEnv(): InfraUrls & { available: boolean } {
  const urls = {
    databaseUrl: process.env.DATABASE_URL ?? "",
    redisUrl: process.env.REDIS_URL ?? "",
    kafkaBrokers: process.env.KAFKA_BROKERS ?? "",
  };
  return { ...urls, available: urls.databaseUrl !== "" && urls.redisUrl !== "" && urls.kafkaBrokers !== "" };
}
