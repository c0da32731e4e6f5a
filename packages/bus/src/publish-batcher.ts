/**
 * Coalesces concurrent publishes into few producer requests. Every publish waits for the broker's
 * acknowledgement of its own records; publishes made while a batch is being sent are collected and
 * go out together as soon as it is acknowledged. So under load one request carries many publishes,
 * and an idle publisher pays only one event-loop turn (the batch is sent on `setImmediate`).
 *
 * Order: batches are sent one at a time, in the order their publishes arrived, and a batch lists the
 * records of each topic in arrival order. Records of one key therefore reach their partition in
 * publish order, within a batch and across batches.
 *
 * Failure: a batch is one producer request, acknowledged or failed as a whole, so its error rejects
 * every publish in it. Later batches are still sent.
 */
import type { BusMessage } from "./types";

/** One topic's records of a batch, in publish order. */
export interface TopicBatch {
  readonly topic: string;
  readonly messages: readonly BusMessage[];
}

/** Sends one batch as a single producer request; resolves once the brokers acknowledged all of it. */
export type SendBatch = (batch: readonly TopicBatch[]) => Promise<void>;

export interface PublishBatcherOptions {
  /** Records in one batch at most (default 500); a single larger publish still goes alone. */
  maxRecords?: number;
  /**
   * Approximate bytes (keys, values, headers) in one batch at most (default 512 KiB), well below
   * the broker's default record-batch limit of 1 MiB; a single larger publish still goes alone.
   */
  maxBytes?: number;
}

export interface PublishBatcher {
  /** Queues the records; resolves when their batch was acknowledged, rejects with its error. */
  publish(topic: string, messages: readonly BusMessage[]): Promise<void>;
  /** Resolves once every queued record was sent (acknowledged or failed). */
  drain(): Promise<void>;
}

interface PendingPublish {
  readonly topic: string;
  readonly messages: readonly BusMessage[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function createPublishBatcher(send: SendBatch, options: PublishBatcherOptions = {}): PublishBatcher {
  const maxRecords = Math.max(1, options.maxRecords ?? 500);
  const maxBytes = Math.max(1, options.maxBytes ?? 512 * 1024);
  const pending: PendingPublish[] = [];
  /** True from scheduling a send until the queue is empty again. */
  let sending = false;
  let drained: { promise: Promise<void>; resolve: () => void } | undefined;

  function schedule(): void {
    if (sending) return;
    sending = true;
    setImmediate(sendQueued);
  }

  async function sendQueued(): Promise<void> {
    while (pending.length > 0) {
      const batch = takeBatch(pending, maxRecords, maxBytes);
      try {
        await send(groupByTopic(batch));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    sending = false;
    drained?.resolve();
    drained = undefined;
  }

  return {
    publish(topic, messages) {
      if (messages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        pending.push({ topic, messages, bytes: approximateBytes(messages), resolve, reject });
        schedule();
      });
    },
    drain() {
      if (!sending) return Promise.resolve();
      if (!drained) {
        let resolve: () => void = () => {};
        const promise = new Promise<void>((done) => {
          resolve = done;
        });
        drained = { promise, resolve };
      }
      return drained.promise;
    },
  };
}

/** Removes and returns the oldest publishes that fit the limits (always at least one). */
function takeBatch(queue: PendingPublish[], maxRecords: number, maxBytes: number): PendingPublish[] {
  let records = 0;
  let bytes = 0;
  let count = 0;
  for (const entry of queue) {
    const fits = records + entry.messages.length <= maxRecords && bytes + entry.bytes <= maxBytes;
    if (count > 0 && !fits) break;
    records += entry.messages.length;
    bytes += entry.bytes;
    count++;
  }
  return queue.splice(0, count);
}

/** One entry per topic, topics and records in arrival order. */
export function groupByTopic(
  batch: readonly { topic: string; messages: readonly BusMessage[] }[],
): TopicBatch[] {
  const byTopic = new Map<string, BusMessage[]>();
  for (const { topic, messages } of batch) {
    let records = byTopic.get(topic);
    if (!records) {
      records = [];
      byTopic.set(topic, records);
    }
    for (const message of messages) records.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

function approximateBytes(messages: readonly BusMessage[]): number {
  let bytes = 0;
  for (const message of messages) {
    bytes += message.key.length + message.value.byteLength;
    for (const name in message.headers) bytes += name.length + (message.headers[name]?.length ?? 0);
  }
  return bytes;
}
