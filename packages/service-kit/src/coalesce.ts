/**
 * Runs concurrent calls as batches: calls made in the same event-loop turn are handed to `runBatch`
 * together (at most `maxBatch` each), and each caller gets its own result. Under load this turns one
 * database round trip per request into one per batch; a lone call waits only for the next turn
 * (`setImmediate`). With `concurrentBatches` (default 1) batches run at the same time at most; calls
 * made while that many run are collected into the next batch. A failing batch rejects every call in it
 * with the same error; the next batch still runs.
 */
export type Coalesced<Input, Output> = (input: Input) => Promise<Output>;

export interface CoalesceOptions {
  maxBatch?: number;
  concurrentBatches?: number;
}

interface PendingCall<Input, Output> {
  input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

export function coalesce<Input, Output>(
  runBatch: (inputs: readonly Input[]) => Promise<readonly Output[]>,
  options: CoalesceOptions = {},
): Coalesced<Input, Output> {
  const maxBatch = Math.max(1, options.maxBatch ?? 200);
  const concurrentBatches = Math.max(1, options.concurrentBatches ?? 1);
  const queue: PendingCall<Input, Output>[] = [];
  let scheduled = false;
  let running = 0;

  async function run(batch: PendingCall<Input, Output>[]): Promise<void> {
    try {
      const outputs = await runBatch(batch.map((call) => call.input));
      if (outputs.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} calls produced ${outputs.length} results`);
      }
      for (const [index, call] of batch.entries()) call.resolve(outputs[index] as Output);
    } catch (error) {
      for (const call of batch) call.reject(error);
    }
  }

  function startBatches(): void {
    scheduled = false;
    while (queue.length > 0 && running < concurrentBatches) {
      running += 1;
      void run(queue.splice(0, maxBatch)).finally(() => {
        running -= 1;
        startBatches();
      });
    }
  }

  return (input) =>
    new Promise<Output>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      // While the limit of batches runs, the call waits for one of them to finish.
      if (!scheduled && running < concurrentBatches) {
        scheduled = true;
        setImmediate(startBatches);
      }
    });
}
