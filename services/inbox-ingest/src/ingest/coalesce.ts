/**
 * Runs concurrent calls as one batch: calls made in the same event-loop turn, or while the previous
 * batch is still running, are handed to `runBatch` together, and each caller gets its own result.
 * Under load this turns one database round trip per request into one per batch, which is what
 * dominated the cost of a delivery; a lone call waits only for the next turn (`setImmediate`).
 * A failing batch rejects every call in it with the same error; the next batch still runs.
 */
export type Coalesced<Input, Output> = (input: Input) => Promise<Output>;

export function coalesce<Input, Output>(
  runBatch: (inputs: readonly Input[]) => Promise<readonly Output[]>,
  options: { maxBatch?: number } = {},
): Coalesced<Input, Output> {
  const maxBatch = Math.max(1, options.maxBatch ?? 200);
  const queue: { input: Input; resolve: (output: Output) => void; reject: (error: unknown) => void }[] = [];
  let running = false;

  async function runQueued(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        const outputs = await runBatch(batch.map((call) => call.input));
        if (outputs.length !== batch.length) {
          throw new Error(`a batch of ${batch.length} calls produced ${outputs.length} results`);
        }
        for (let index = 0; index < batch.length; index++) {
          batch[index]?.resolve(outputs[index] as Output);
        }
      } catch (error) {
        for (const call of batch) call.reject(error);
      }
    }
    running = false;
  }

  return (input) =>
    new Promise<Output>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!running) {
        running = true;
        setImmediate(runQueued);
      }
    });
}
