import { type BusMessage, createInProcessBus, type InProcessBusOptions, type MonitoredBus } from "@mimi/bus";

export interface PublishedBatch {
  topic: string;
  messages: BusMessage[];
}

/** An in-process bus that keeps every batch published on it and can be made to fail the next publish. */
export interface RecordingBus extends MonitoredBus {
  published: PublishedBatch[];
  /** When set, the next publish throws (as a broker that is down would) and the flag clears. */
  failNextPublish: boolean;
}

export function recordingBus(options: InProcessBusOptions = {}): RecordingBus {
  const inner = createInProcessBus(options);
  const bus: RecordingBus = {
    published: [],
    failNextPublish: false,
    async publish(topic, messages) {
      if (bus.failNextPublish) {
        bus.failNextPublish = false;
        throw new Error("broker unavailable");
      }
      bus.published.push({ topic, messages });
      await inner.publish(topic, messages);
    },
    subscribe: inner.subscribe.bind(inner),
    consumers: inner.consumers.bind(inner),
    close: inner.close.bind(inner),
  };
  return bus;
}

/** The messages published on `topic`, decoded by its `parse`; a message that does not parse throws. */
export function publishedOn<T>(
  bus: RecordingBus,
  topic: { name: string; parse(message: BusMessage): { ok: true; value: T } | { ok: false; reason: string } },
): T[] {
  return bus.published
    .filter((batch) => batch.topic === topic.name)
    .flatMap((batch) => batch.messages)
    .map((message) => {
      const parsed = topic.parse(message);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.value;
    });
}
