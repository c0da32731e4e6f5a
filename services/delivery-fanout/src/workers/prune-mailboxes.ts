import type { DeliveryFanoutContext } from "../context.js";

/**
 * Deletes mailbox items older than the retention (`MIMI_MAILBOX_RETENTION_DAYS`) every
 * `pruneIntervalMs`, in batches so no statement holds many rows locked; each batch gives the space
 * back to its users' quota. Every replica may run it: a batch deletes each row once.
 */
export function startMailboxPruner(ctx: DeliveryFanoutContext): { stop(): Promise<void> } {
  const { retentionMs, pruneIntervalMs, pruneBatch } = ctx.settings.mailboxQuota;
  let running: Promise<void> | undefined;
  const round = async () => {
    const storedBefore = new Date(ctx.now() - retentionMs);
    let total = 0;
    for (;;) {
      const deleted = await ctx.mailbox.prune(storedBefore, pruneBatch);
      total += deleted;
      if (deleted < pruneBatch) break;
    }
    if (total > 0) ctx.logger.info({ deleted: total, storedBefore }, "mailbox items past retention deleted");
  };
  const tick = () => {
    if (running) return;
    running = round()
      .catch((error: unknown) => ctx.logger.error({ err: error }, "pruning mailboxes failed"))
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, pruneIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
