/** Polling helpers for tests: wait for a condition instead of sleeping a fixed time. */

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  description?: string;
}

/** Resolves once `condition()` is true; rejects with the description after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 10;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.description ?? "condition"}`,
      );
    }
    await delay(intervalMs);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise plus the function that resolves it, for handlers that must block until a test lets them go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
