import type { InboxIngestContext } from "./context.js";

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * inbox-ingest consumes no topic; its only background work is forgetting dedupe keys older than the
 * retention (`MIMI_INBOX_DEDUPE_RETENTION_HOURS`), once at start and then hourly.
 */
export async function startInboxIngestWorkers(
  ctx: InboxIngestContext,
  options: { intervalMs?: number } = {},
): Promise<{ stop(): Promise<void> }> {
  let running: Promise<void> = Promise.resolve();
  const prune = () => {
    running = (async () => {
      const before = new Date(ctx.now().getTime() - ctx.settings.dedupeRetentionHours * 3_600_000);
      try {
        const removed = await ctx.seen.prune(before);
        if (removed > 0) ctx.logger.info({ removed }, "old dedupe keys pruned");
      } catch (error) {
        ctx.logger.warn({ err: error }, "pruning dedupe keys failed; will try again");
      }
    })();
  };
  prune();
  const timer = setInterval(prune, options.intervalMs ?? PRUNE_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
