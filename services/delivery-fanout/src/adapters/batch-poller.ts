/**
 * Polls a store every `intervalMs` until stopped: each tick calls `release`, again at once while it
 * came back with a full batch, so a backlog drains without waiting a tick per batch. The next tick is
 * set only after the previous one ended, so ticks never overlap; `stop` waits for the running one.
 */
export function startBatchPoller(
  release: () => Promise<number>,
  options: { intervalMs: number; batchSize: number; onError: (error: unknown) => void },
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    if (stopped) return;
    running = (async () => {
      try {
        while (!stopped && (await release()) === options.batchSize) {}
      } catch (error) {
        options.onError(error);
      }
    })().finally(() => {
      if (!stopped) timer = setTimeout(tick, options.intervalMs);
    });
  };
  let timer: NodeJS.Timeout = setTimeout(tick, options.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
